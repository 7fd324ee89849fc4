"""Implementation and process evaluation of a cohort: per partnership and cluster, CPD hours
delivered against plan, reach, feedback averages per element, and the barriers and facilitators
tagged in end-of-grant reports; programme-wide, CPD elements ranked by mean rating.

Every figure comes from a fixed number of aggregate queries, whatever the cohort's size.

Plans: a cluster's plan is the sum of its CPD plan items' planned hours. A partnership has no
numeric CPD plan in the portal (the application's "planned teacher CPD" is free text), so its
"planned" column shows that text's first words and no percentage is given.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Count, Q, Sum

from clusters.models import (
    Cluster,
    ClusterMembership,
    CommentTheme,
    CPDActivity,
    CPDPlanItem,
    Feedback,
    SurveyInvitation,
)
from grants.models import Application, EndOfGrantReport
from partnerships.models import Cohort, Membership, Partnership

ELEMENTS = {
    "engaging_ideas": "Ideas and experiments that make science engaging",
    "hands_on": "Hands-on activities for students",
    "sharing_across_schools": "Sharing materials and approaches across schools",
    "overall_usefulness": "Overall usefulness",
}
FEEDBACK_AGGREGATES = {
    **{f"avg_{name}": Avg(name) for name in ELEMENTS},
    "responses": Count("id"),
    "expects_more": Count("id", filter=Q(expects_more_cpd=True)),
}


@dataclass
class UnitReport:
    kind: str  # "Partnership" or "Cluster"
    id: int
    name: str
    status: str
    schools: int = 0
    planned_hours: Decimal | None = None
    plan_text: str = ""
    cpd_hours: Decimal = Decimal(0)
    activities: int = 0
    teachers_reached: int = 0
    students_reached: int = 0
    schools_taking_part: int = 0
    feedback: dict = field(default_factory=dict)
    barriers: Counter = field(default_factory=Counter)
    facilitators: Counter = field(default_factory=Counter)
    invited: int = 0  # survey invitations sent for its activities
    answered: int = 0  # of which answered

    @property
    def delivered_percent(self) -> int | None:
        if not self.planned_hours:
            return None
        return round(100 * self.cpd_hours / self.planned_hours)

    @property
    def expects_more_percent(self) -> int | None:
        responses = self.feedback.get("responses") or 0
        return round(100 * self.feedback["expects_more"] / responses) if responses else None

    @property
    def element_averages(self) -> list[float | None]:
        return [self.feedback.get(f"avg_{name}") for name in ELEMENTS]


def _activity_figures(parent: str, ids: list[int]) -> dict[int, dict]:
    rows = (
        CPDActivity.objects.filter(**{f"{parent}_id__in": ids})
        .values(parent)
        .annotate(
            cpd_hours=Sum("hours", filter=Q(kind=CPDActivity.Kind.TEACHER_CPD)),
            activities=Count("id", distinct=True),
            teachers=Sum("teachers_reached"),
            students=Sum("students_reached"),
        )
    )
    figures = {row[parent]: row for row in rows}
    taking_part = (
        CPDActivity.schools.through.objects.filter(**{f"cpdactivity__{parent}_id__in": ids})
        .values(f"cpdactivity__{parent}")
        .annotate(n=Count("school", distinct=True))
    )
    for row in taking_part:
        figures.setdefault(row[f"cpdactivity__{parent}"], {})["taking_part"] = row["n"]
    return figures


def _feedback_figures(parent: str, ids: list[int]) -> dict[int, dict]:
    rows = (
        Feedback.objects.filter(**{f"activity__{parent}_id__in": ids})
        .values(f"activity__{parent}")
        .annotate(**FEEDBACK_AGGREGATES)
    )
    return {row.pop(f"activity__{parent}"): _rounded(row) for row in rows}


def _rounded(row: dict) -> dict:
    return {
        key: (round(float(value), 2) if key.startswith("avg_") and value is not None else value)
        for key, value in row.items()
    }


def _fill(report: UnitReport, activity: dict, feedback: dict) -> None:
    report.cpd_hours = activity.get("cpd_hours") or Decimal(0)
    report.activities = activity.get("activities") or 0
    report.teachers_reached = activity.get("teachers") or 0
    report.students_reached = activity.get("students") or 0
    report.schools_taking_part = activity.get("taking_part") or 0
    report.feedback = feedback


def cohort_process(cohort: Cohort) -> dict:
    """Everything the process evaluation page shows for one cohort."""
    partnerships = list(
        Partnership.objects.filter(cohort=cohort)
        .exclude(status=Partnership.Status.WITHDRAWN)
        .annotate(confirmed=Count("memberships", filter=Q(memberships__status=Membership.Status.CONFIRMED)))
        .order_by("name")
    )
    p_ids = [p.id for p in partnerships]
    applications = {
        a.partnership_id: a
        for a in Application.objects.filter(partnership_id__in=p_ids).only(
            "partnership_id", "status", "planned_teacher_cpd", "planned_cpd_hours"
        )
    }
    reports = {
        r.application.partnership_id: r
        for r in EndOfGrantReport.objects.filter(
            application__partnership_id__in=p_ids, kind=EndOfGrantReport.Kind.FINAL
        ).select_related("application")
    }
    activity, feedback = _activity_figures("partnership", p_ids), _feedback_figures("partnership", p_ids)
    units = []
    for p in partnerships:
        application = applications.get(p.id)
        report = UnitReport("Partnership", p.id, p.name, p.get_status_display(), schools=p.confirmed)
        report.plan_text = (application.planned_teacher_cpd if application else "")[:200]
        report.planned_hours = application.planned_cpd_hours if application else None
        _fill(report, activity.get(p.id, {}), feedback.get(p.id, {}))
        if p.id in reports:
            report.barriers = Counter(set(_tags(reports[p.id].barriers)))
            report.facilitators = Counter(set(_tags(reports[p.id].facilitators)))
        units.append(report)

    clusters = list(Cluster.objects.filter(cohort=cohort).order_by("name"))
    c_ids = [c.id for c in clusters]
    planned = dict(
        CPDPlanItem.objects.filter(cluster_id__in=c_ids)
        .values("cluster")
        .annotate(h=Sum("planned_hours"))
        .values_list("cluster", "h")
    )
    sizes = dict(
        ClusterMembership.objects.filter(cluster_id__in=c_ids)
        .values("cluster")
        .annotate(n=Count("id"))
        .values_list("cluster", "n")
    )
    activity, feedback = _activity_figures("cluster", c_ids), _feedback_figures("cluster", c_ids)
    for c in clusters:
        report = UnitReport("Cluster", c.id, c.name, c.get_status_display(), schools=sizes.get(c.id, 0))
        report.planned_hours = planned.get(c.id)
        _fill(report, activity.get(c.id, {}), feedback.get(c.id, {}))
        units.append(report)

    unit_surveys(units)
    barriers, facilitators = Counter(), Counter()
    for unit in units:
        barriers.update(unit.barriers)
        facilitators.update(unit.facilitators)
    return {
        "units": units,
        "barriers": barriers.most_common(),
        "facilitators": facilitators.most_common(),
        "reports": len(reports),
        "cohort_ranking": element_ranking(
            Q(activity__partnership__cohort=cohort) | Q(activity__cluster__cohort=cohort)
        ),
        "programme_ranking": element_ranking(
            Q(activity__partnership__cohort__programme=cohort.programme_id)
            | Q(activity__cluster__cohort__programme=cohort.programme_id)
        ),
    }


def _tags(value) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(tag).strip() for tag in value if str(tag).strip()]


def element_ranking(scope: Q) -> list[dict]:
    """CPD elements by mean rating (1–5), highest first, over the feedback in `scope`."""
    figures = Feedback.objects.filter(scope).aggregate(**FEEDBACK_AGGREGATES)
    responses = figures["responses"]
    ranked = [
        {"element": label, "mean": round(float(figures[f"avg_{name}"]), 2), "responses": responses}
        for name, label in ELEMENTS.items()
        if name != "overall_usefulness" and figures[f"avg_{name}"] is not None
    ]
    return sorted(ranked, key=lambda row: -row["mean"])


# --- Dosage per school, survey response rates, and the page's tables as CSV (issue 18) ----------


def school_dosage(cohort: Cohort) -> list[dict]:
    """Per cluster school: teacher CPD hours planned (its own plan items plus the cluster-wide
    ones) and delivered (the cluster's teacher CPD activities it took part in), and its survey
    invitations sent and answered. Four queries, whatever the cohort's size."""
    members = list(
        ClusterMembership.objects.filter(cluster__cohort=cohort)
        .values("cluster_id", "cluster__name", "school_id", "school__name", "school__urn")
        .order_by("cluster__name", "school__name")
    )
    planned: dict = {}
    per_cluster: dict = {}
    for row in (
        CPDPlanItem.objects.filter(cluster__cohort=cohort)
        .values("cluster_id", "school_id")
        .annotate(h=Sum("planned_hours"))
    ):
        if row["school_id"] is None:
            per_cluster[row["cluster_id"]] = per_cluster.get(row["cluster_id"], Decimal(0)) + row["h"]
        else:
            planned[(row["cluster_id"], row["school_id"])] = row["h"]
    delivered = {
        (row["cpdactivity__cluster_id"], row["school_id"]): row["h"]
        for row in CPDActivity.schools.through.objects.filter(
            cpdactivity__cluster__cohort=cohort, cpdactivity__kind=CPDActivity.Kind.TEACHER_CPD
        )
        .values("cpdactivity__cluster_id", "school_id")
        .annotate(h=Sum("cpdactivity__hours"))
    }
    surveys = {
        (row["activity__cluster_id"], row["school_id"]): row
        for row in SurveyInvitation.objects.filter(activity__cluster__cohort=cohort, school__isnull=False)
        .values("activity__cluster_id", "school_id")
        .annotate(invited=Count("pk"), answered=Count("feedback"))
    }
    rows = []
    for m in members:
        key = (m["cluster_id"], m["school_id"])
        plan = planned.get(key, Decimal(0)) + per_cluster.get(m["cluster_id"], Decimal(0))
        done = delivered.get(key, Decimal(0))
        survey = surveys.get(key, {})
        rows.append(
            {
                "cluster": m["cluster__name"],
                "school": m["school__name"],
                "urn": m["school__urn"],
                "planned": plan,
                "delivered": done,
                "percent": round(100 * done / plan) if plan else None,
                "invited": survey.get("invited", 0),
                "answered": survey.get("answered", 0),
            }
        )
    return rows


def unit_surveys(units: list[UnitReport]) -> None:
    """Survey invitations sent and answered per partnership and cluster (two queries)."""
    for parent, kind in (("partnership", "Partnership"), ("cluster", "Cluster")):
        ids = [u.id for u in units if u.kind == kind]
        found = {
            row[f"activity__{parent}"]: row
            for row in SurveyInvitation.objects.filter(**{f"activity__{parent}_id__in": ids})
            .values(f"activity__{parent}")
            .annotate(invited=Count("pk"), answered=Count("feedback"))
        }
        for unit in units:
            if unit.kind == kind:
                unit.invited = found.get(unit.id, {}).get("invited", 0)
                unit.answered = found.get(unit.id, {}).get("answered", 0)


def _pct(value) -> str:
    return "" if value is None else str(value)


def _hours(value) -> str:
    """Hours with one decimal place, whatever the database's SUM returned (PostgreSQL keeps the
    column's scale, "8.0"; SQLite drops it, "8"): one CSV, the same figures on either."""
    return "" if value is None else str(Decimal(value).quantize(Decimal("0.1")))


def comment_themes(cohort: Cohort) -> dict:
    """Teachers' survey comments grouped by the themes programme staff gave them (barriers, then
    facilitators, most comments first), and how many comments have no theme yet. Two queries."""
    in_cohort = Q(activity__partnership__cohort=cohort) | Q(activity__cluster__cohort=cohort)
    links = (
        Feedback.themes.through.objects.filter(
            Q(feedback__activity__partnership__cohort=cohort) | Q(feedback__activity__cluster__cohort=cohort)
        )
        .select_related("commenttheme", "feedback__activity__partnership", "feedback__activity__cluster")
        .order_by("feedback__submitted_at", "feedback_id")
    )
    groups: dict = {}
    for link in links:
        theme, feedback = link.commenttheme, link.feedback
        group = groups.setdefault(
            theme.pk,
            {"kind": theme.get_kind_display(), "order": theme.kind, "theme": theme.name, "comments": []},
        )
        activity = feedback.activity
        group["comments"].append(
            {
                "text": feedback.comments,
                "unit": (activity.partnership or activity.cluster).name,
                "activity": activity.title,
            }
        )
    ordered = sorted(
        groups.values(),
        key=lambda g: (g["order"] != CommentTheme.Kind.BARRIER, -len(g["comments"]), g["theme"].lower()),
    )
    unthemed = Feedback.objects.filter(in_cohort, themes__isnull=True).exclude(comments="").count()
    return {"groups": ordered, "unthemed": unthemed}


def process_tables(
    figures: dict, dosage: list[dict], themes: dict | None = None
) -> dict[str, tuple[str, list[str], list[list]]]:
    """Every table of the process page as (caption, header, rows) for its CSV: same figures."""
    units = figures["units"]
    tables = {
        "delivery": (
            "Delivery and reach per partnership and cluster",
            [
                "Kind",
                "Name",
                "Status",
                "Schools",
                "CPD hours delivered",
                "CPD hours planned",
                "Delivered of plan (%)",
                "Activities",
                "Schools taking part",
                "Teachers reached",
                "Students reached",
                "Survey invitations",
                "Survey answers by invitation",
                "Responses",
            ],
            [
                [
                    u.kind,
                    u.name,
                    u.status,
                    u.schools,
                    _hours(u.cpd_hours),
                    _hours(u.planned_hours),
                    _pct(u.delivered_percent),
                    u.activities,
                    u.schools_taking_part,
                    u.teachers_reached,
                    u.students_reached,
                    u.invited,
                    u.answered,
                    u.feedback.get("responses") or 0,
                ]
                for u in units
            ],
        ),
        "schools": (
            "Dosage per cluster school: teacher CPD hours planned and delivered, survey response",
            [
                "Cluster",
                "School",
                "URN",
                "Hours planned",
                "Hours delivered",
                "Delivered of plan (%)",
                "Survey invitations",
                "Answered",
            ],
            [
                [
                    r["cluster"],
                    r["school"],
                    r["urn"],
                    _hours(r["planned"]),
                    _hours(r["delivered"]),
                    _pct(r["percent"]),
                    r["invited"],
                    r["answered"],
                ]
                for r in dosage
            ],
        ),
        "feedback": (
            "Mean rating per CPD element (1–5), per partnership and cluster",
            ["Kind", "Name", "Responses", *ELEMENTS.values(), "Expect more CPD (%)"],
            [
                [
                    u.kind,
                    u.name,
                    u.feedback.get("responses") or 0,
                    *["" if a is None else a for a in u.element_averages],
                    _pct(u.expects_more_percent),
                ]
                for u in units
            ],
        ),
        "elements": (
            "CPD elements by mean rating, this cohort",
            ["Rank", "CPD element", "Mean rating", "Responses"],
            [
                [n, r["element"], r["mean"], r["responses"]]
                for n, r in enumerate(figures["cohort_ranking"], 1)
            ],
        ),
        "barriers": (
            "Barriers tagged in end-of-grant reports",
            ["Tag", "Partnerships"],
            [list(t) for t in figures["barriers"]],
        ),
        "facilitators": (
            "Facilitators tagged in end-of-grant reports",
            ["Tag", "Partnerships"],
            [list(t) for t in figures["facilitators"]],
        ),
        "comment_themes": (
            "Teachers' survey comments by the theme staff gave them",
            ["Barrier or facilitator", "Theme", "Partnership or cluster", "Activity", "Comment"],
            [
                [g["kind"], g["theme"], c["unit"], c["activity"], c["text"]]
                for g in (themes or {}).get("groups", [])
                for c in g["comments"]
            ],
        ),
    }
    return tables
