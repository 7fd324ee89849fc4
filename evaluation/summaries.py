"""What a cohort summary contains, computed with aggregate queries in the database.

`compute(cohort_id)` runs a fixed number of queries (about a dozen) whatever the cohort's
size: every figure is a COUNT/SUM/AVG with GROUP BY in SQL, never a Python loop over rows.
The result is plain JSON (money and hours as strings, so nothing is lost to floats) and is
stored on `CohortSummary.data` by `evaluation.tasks.build_cohort_summary`.

`summary_tables(data)` turns a stored summary into the tables the dashboard shows beside
its charts; the CSV export uses the same definitions, so page and file always agree.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
from grants.models import Application, Payment
from partnerships.models import Cohort, Membership, Partnership, Phase, School
from portal.money import format_gbp, money

SCHEMA_VERSION = 1

FEEDBACK_ELEMENTS = ["engaging_ideas", "hands_on", "sharing_across_schools", "overall_usefulness"]

# Applications that asked for money: everything except drafts and withdrawn ones.
REQUESTED_STATUSES = [
    Application.Status.SUBMITTED,
    Application.Status.CHANGES_REQUESTED,
    Application.Status.APPROVED,
    Application.Status.REJECTED,
    Application.Status.COMPLETED,
]
AWARDED_STATUSES = [Application.Status.APPROVED, Application.Status.COMPLETED]

ZERO_MONEY = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
ZERO_HOURS = Value(Decimal("0.0"), output_field=DecimalField(max_digits=12, decimal_places=1))


def cohort_schools(cohort_id: int) -> QuerySet[School]:
    """Distinct schools taking part: confirmed partnership members and cluster members."""
    in_partnerships = Membership.objects.filter(
        cohort_id=cohort_id, status=Membership.Status.CONFIRMED
    ).values("school_id")
    in_clusters = ClusterMembership.objects.filter(cohort_id=cohort_id).values("school_id")
    return School.objects.filter(Q(pk__in=in_partnerships) | Q(pk__in=in_clusters))


def cohort_activities(cohort_id: int) -> QuerySet[CPDActivity]:
    """Activities of the cohort's partnerships and clusters."""
    return CPDActivity.objects.filter(
        Q(partnership__in=Partnership.objects.filter(cohort_id=cohort_id).values("pk"))
        | Q(cluster__in=Cluster.objects.filter(cohort_id=cohort_id).values("pk"))
    )


def _counts(queryset, field: str, keys) -> dict[str, int]:
    """COUNT(*) GROUP BY field, with every expected key present (zeros included)."""
    found = {
        row[field]: row["n"]
        for row in queryset.order_by().values(field).annotate(n=Count("pk")).values(field, "n")
    }
    counts = {key: found.pop(key, 0) for key in keys}
    counts.update({key or "unknown": n for key, n in sorted(found.items(), key=lambda kv: str(kv[0]))})
    return counts


def _ranked(queryset, field: str, label: str) -> list[dict]:
    rows = queryset.order_by().values(field).annotate(n=Count("pk")).order_by("-n", field)
    return [{label: row[field] or "Not recorded", "schools": row["n"]} for row in rows]


def _dec(value, places: str = "0.00") -> str:
    return str(Decimal(value or 0).quantize(Decimal(places)))


def _mean(value, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def compute(cohort_id: int) -> dict:
    """Every figure of one cohort's summary. Raises Cohort.DoesNotExist for an unknown id.

    `built_at` is when the computation started: a change committed after it may be missing,
    so the dashboard compares it with `CohortSummary.source_changed_at` to flag staleness.
    """
    started = timezone.now()
    cohort = Cohort.objects.select_related("programme").get(pk=cohort_id)

    partnerships = Partnership.objects.filter(cohort_id=cohort_id)
    by_status = _counts(partnerships, "status", Partnership.Status.values)
    clusters = _counts(Cluster.objects.filter(cohort_id=cohort_id), "status", Cluster.Status.values)

    schools = cohort_schools(cohort_id)
    school_totals = schools.aggregate(
        schools=Count("pk"),
        total_pupils=Coalesce(Sum("pupils"), 0),
        mean_fsm=Avg("fsm_percent"),
        in_opportunity_areas=Count("pk", filter=~Q(opportunity_area="")),
    )
    by_phase = _counts(schools, "phase", Phase.values)

    applications = Application.objects.filter(cohort_id=cohort_id)
    money_totals = applications.aggregate(
        requested=Coalesce(Sum("requested", filter=Q(status__in=REQUESTED_STATUSES)), ZERO_MONEY),
        awarded=Coalesce(Sum("awarded", filter=Q(status__in=AWARDED_STATUSES)), ZERO_MONEY),
    )
    paid = Payment.objects.filter(application__cohort_id=cohort_id, status=Payment.Status.PAID).aggregate(
        paid=Coalesce(Sum("amount"), ZERO_MONEY)
    )["paid"]
    applications_by_status = _counts(applications, "status", Application.Status.values)

    activities = cohort_activities(cohort_id)
    activity_totals = activities.aggregate(
        activities=Count("pk"),
        total_hours=Coalesce(Sum("hours"), ZERO_HOURS),
        cpd_hours=Coalesce(Sum("hours", filter=Q(kind=CPDActivity.Kind.TEACHER_CPD)), ZERO_HOURS),
        teachers=Coalesce(Sum("teachers_reached"), 0),
        students=Coalesce(Sum("students_reached"), 0),
    )
    kinds = {
        row["kind"]: row
        for row in activities.order_by()
        .values("kind")
        .annotate(
            n=Count("pk"),
            sum_hours=Sum("hours"),
            teachers=Sum("teachers_reached"),
            students=Sum("students_reached"),
        )
    }
    by_month = (
        activities.order_by()
        .annotate(month=TruncMonth("held_on"))
        .values("month")
        .annotate(
            n=Count("pk"),
            sum_hours=Sum("hours"),
            teachers=Sum("teachers_reached"),
            students=Sum("students_reached"),
        )
        .order_by("month")
    )

    feedback = Feedback.objects.filter(activity__in=activities.values("pk")).aggregate(
        responses=Count("pk"),
        expecting_more=Count("pk", filter=Q(expects_more_cpd=True)),
        **{element: Avg(element) for element in FEEDBACK_ELEMENTS},
    )

    awarded = money(money_totals["awarded"])
    responses = feedback["responses"]
    return {
        "schema": SCHEMA_VERSION,
        "built_at": started.isoformat(),
        "cohort": {
            "id": cohort.pk,
            "name": cohort.name,
            "programme": cohort.programme.name,
            "programme_id": cohort.programme_id,
            "starts_on": cohort.starts_on.isoformat(),
            "ends_on": cohort.ends_on.isoformat(),
        },
        "partnerships": sum(by_status.values()),
        "partnerships_by_status": by_status,
        "clusters": sum(clusters.values()),
        "clusters_by_status": clusters,
        "schools": school_totals["schools"],
        "primary": by_phase[Phase.PRIMARY],
        "secondary": by_phase[Phase.SECONDARY],
        "schools_by_phase": by_phase,
        "schools_by_region": _ranked(schools, "region", "region"),
        "schools_by_local_authority": _ranked(schools, "local_authority", "local_authority"),
        "pupils": school_totals["total_pupils"],
        "mean_fsm_percent": _mean(school_totals["mean_fsm"]),
        "schools_in_opportunity_areas": school_totals["in_opportunity_areas"],
        "applications_by_status": applications_by_status,
        "grants_awarded": applications_by_status[Application.Status.APPROVED]
        + applications_by_status[Application.Status.COMPLETED],
        "budget": str(money(cohort.budget)),
        "requested": str(money(money_totals["requested"])),
        "awarded": str(awarded),
        "paid": str(money(paid)),
        "remaining": str(money(cohort.budget) - awarded),
        "activities": activity_totals["activities"],
        "activities_by_kind": {
            kind: {
                "activities": kinds.get(kind, {}).get("n", 0),
                "hours": _dec(kinds.get(kind, {}).get("sum_hours"), "0.0"),
                "teachers_reached": kinds.get(kind, {}).get("teachers") or 0,
                "students_reached": kinds.get(kind, {}).get("students") or 0,
            }
            for kind in CPDActivity.Kind.values
        },
        "activity_hours": _dec(activity_totals["total_hours"], "0.0"),
        "cpd_hours": _dec(activity_totals["cpd_hours"], "0.0"),
        "teachers_reached": activity_totals["teachers"],
        "students_reached": activity_totals["students"],
        "activities_by_month": [
            {
                "month": row["month"].strftime("%Y-%m"),
                "activities": row["n"],
                "hours": _dec(row["sum_hours"], "0.0"),
                "teachers_reached": row["teachers"],
                "students_reached": row["students"],
            }
            for row in by_month
        ],
        "feedback": {
            "responses": responses,
            **{element: _mean(feedback[element]) for element in FEEDBACK_ELEMENTS},
            "expects_more_cpd_percent": (
                round(100 * feedback["expecting_more"] / responses, 1) if responses else None
            ),
        },
    }


# --- Tables shown beside the charts, and exported as CSV --------------------------------


@dataclass(frozen=True)
class Table:
    name: str  # the CSV export's table parameter
    caption: str
    headers: list[str]
    rows: list[list]  # display values
    csv_rows: list[list]  # raw values (numbers, money without £)


def _label(choices, value) -> str:
    return dict(choices).get(value, str(value).replace("_", " ").capitalize())


def _in_order(mapping: dict, keys) -> list[tuple]:
    """A stored dict's items in the choices' order (PostgreSQL's jsonb does not keep key order),
    then any other keys."""
    mapping = dict(mapping or {})
    items = [(key, mapping.pop(key)) for key in keys if key in mapping]
    return items + sorted(mapping.items())


def summary_tables(data: dict) -> dict[str, Table]:
    """The summary's tables, by name, in the order the dashboard shows them."""
    data = data or {}
    tables: list[Table] = []

    def add(name, caption, headers, csv_rows, display=None):
        tables.append(Table(name, caption, headers, display or csv_rows, csv_rows))

    phases = _in_order(data.get("schools_by_phase"), Phase.values)
    add(
        "phase",
        "Schools by phase",
        ["Phase", "Schools"],
        [[_label(Phase.choices, key), n] for key, n in phases],
    )
    money_rows = [
        ("Budget", data.get("budget")),
        ("Requested", data.get("requested")),
        ("Awarded", data.get("awarded")),
        ("Paid", data.get("paid")),
        ("Remaining (budget − awarded)", data.get("remaining")),
    ]
    add(
        "money",
        "Grants against the cohort's budget",
        ["Figure", "Amount (£)"],
        [[label, value or "0.00"] for label, value in money_rows],
        [[label, format_gbp(value or "0")] for label, value in money_rows],
    )
    add(
        "activities_by_month",
        "Activities and reach by month",
        ["Month", "Activities", "Hours", "Teachers reached", "Students reached"],
        [
            [row["month"], row["activities"], row["hours"], row["teachers_reached"], row["students_reached"]]
            for row in data.get("activities_by_month", [])
        ],
    )
    add(
        "region",
        "Schools by region",
        ["Region", "Schools"],
        [[row["region"], row["schools"]] for row in data.get("schools_by_region", [])],
    )
    add(
        "local_authority",
        "Schools by local authority",
        ["Local authority", "Schools"],
        [[row["local_authority"], row["schools"]] for row in data.get("schools_by_local_authority", [])],
    )
    add(
        "activities_by_kind",
        "Activities by kind",
        ["Kind", "Activities", "Hours", "Teachers reached", "Students reached"],
        [
            [
                _label(CPDActivity.Kind.choices, kind),
                row["activities"],
                row["hours"],
                row["teachers_reached"],
                row["students_reached"],
            ]
            for kind, row in _in_order(data.get("activities_by_kind"), CPDActivity.Kind.values)
        ],
    )
    add(
        "partnerships_by_status",
        "Partnerships by status",
        ["Status", "Partnerships"],
        [
            [_label(Partnership.Status.choices, k), n]
            for k, n in _in_order(data.get("partnerships_by_status"), Partnership.Status.values)
        ],
    )
    add(
        "applications_by_status",
        "Applications by status",
        ["Status", "Applications"],
        [
            [_label(Application.Status.choices, k), n]
            for k, n in _in_order(data.get("applications_by_status"), Application.Status.values)
        ],
    )
    feedback = data.get("feedback", {})
    feedback_rows = [
        [Feedback._meta.get_field(element).verbose_name, feedback.get(element)]
        for element in FEEDBACK_ELEMENTS
    ]
    feedback_rows.append(["% expecting to take part in more CPD", feedback.get("expects_more_cpd_percent")])
    feedback_rows.append(["Responses", feedback.get("responses", 0)])
    add(
        "feedback",
        "Teachers' feedback (mean rating, 1–5)",
        ["Element", "Value"],
        feedback_rows,
        [[label, "—" if value is None else value] for label, value in feedback_rows],
    )
    return {table.name: table for table in tables}


def chart_data(data: dict) -> dict:
    """What static/evaluation/dashboard.js draws; the same figures as the tables."""
    data = data or {}
    phases = _in_order(data.get("schools_by_phase"), Phase.values)
    months = data.get("activities_by_month", [])
    regions = data.get("schools_by_region", [])
    return {
        "phase": {
            "labels": [_label(Phase.choices, key) for key, _ in phases],
            "values": [n for _, n in phases],
        },
        "money": {
            "labels": ["Budget", "Requested", "Awarded", "Paid"],
            "values": [float(data.get(key) or 0) for key in ("budget", "requested", "awarded", "paid")],
        },
        "activities_by_month": {
            "labels": [row["month"] for row in months],
            "activities": [row["activities"] for row in months],
            "teachers": [row["teachers_reached"] for row in months],
            "students": [row["students_reached"] for row in months],
        },
        "region": {
            "labels": [row["region"] for row in regions],
            "values": [row["schools"] for row in regions],
        },
    }
