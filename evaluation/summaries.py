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

from django.db.models import Avg, Count, DecimalField, Min, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce, DenseRank, TruncMonth
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


# Partnerships whose schools take part: funded ones (award made, or grant completed). The status
# follows the grant (grants.services), so forming, rejected and withdrawn ones are left out.
FUNDED_PARTNERSHIP_STATUSES = [Partnership.Status.ACTIVE, Partnership.Status.COMPLETED]


def cohort_schools(cohort_id: int) -> QuerySet[School]:
    """Distinct schools taking part: confirmed members of the cohort's funded partnerships, and
    cluster members."""
    in_partnerships = Membership.objects.filter(
        cohort_id=cohort_id,
        status=Membership.Status.CONFIRMED,
        partnership__status__in=FUNDED_PARTNERSHIP_STATUSES,
    ).values("school_id")
    in_clusters = ClusterMembership.objects.filter(cohort_id=cohort_id).values("school_id")
    return School.objects.filter(Q(pk__in=in_partnerships) | Q(pk__in=in_clusters))


def applying_schools(cohort_id: int) -> QuerySet[School]:
    """Schools only applying: confirmed members of forming partnerships, not already taking part."""
    applying = Membership.objects.filter(
        cohort_id=cohort_id,
        status=Membership.Status.CONFIRMED,
        partnership__status=Partnership.Status.FORMING,
    ).values("school_id")
    return School.objects.filter(pk__in=applying).exclude(pk__in=cohort_schools(cohort_id).values("pk"))


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
    return _with_keys(found, keys)


def _with_keys(found: dict, keys) -> dict[str, int]:
    """Every expected key (zeros included) in order, then any unexpected ones sorted."""
    found = dict(found)
    counts = {key: found.pop(key, 0) for key in keys}
    counts.update({key or "unknown": n for key, n in sorted(found.items(), key=lambda kv: str(kv[0]))})
    return counts


def _tally(rows, field: str, *sums: str) -> dict:
    """{value of field: {each of sums: total over rows}}: a GROUP BY field in Python over rows
    already grouped by the database (a few hundred at most), in first-seen order."""
    totals: dict = {}
    for row in rows:
        entry = totals.setdefault(row[field], dict.fromkeys(sums, 0))
        for key in sums:
            entry[key] += row[key] or 0
    return totals


def _ranked(groups: list[dict], field: str, label: str) -> list[dict]:
    """Schools by field, most first; ties in the database's collation order (`<field>_rank`)."""
    rows = _tally(groups, field, "n")
    rank = {row[field]: row[f"{field}_rank"] for row in groups}
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1]["n"], rank[kv[0]]))
    return [{label: key or "Not recorded", "schools": row["n"]} for key, row in ordered]


def _dec(value, places: str = "0.00") -> str:
    return str(Decimal(value or 0).quantize(Decimal(places)))


def _mean(value, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def _school_groups(cohort_id: int) -> list[dict]:
    """The cohort's schools in one scan, grouped by (phase, region, local authority): every
    school figure (totals, by phase, by region, by local authority) is a sum over these rows.
    The dense ranks number the region and local authority names in the database's collation
    order, to break ties in the rankings exactly as an ORDER BY would (they rank MIN(name),
    which is the group's name: a bare column would make Django add the window to GROUP BY)."""
    return list(
        cohort_schools(cohort_id)
        .order_by()
        .values("phase", "region", "local_authority")
        .annotate(
            n=Count("pk"),
            pupils=Sum("pupils"),
            fsm_sum=Sum("fsm_percent"),
            fsm_n=Count("fsm_percent"),
            in_oa=Count("pk", filter=~Q(opportunity_area="")),
            region_rank=Window(DenseRank(), order_by=Min("region").asc()),
            local_authority_rank=Window(DenseRank(), order_by=Min("local_authority").asc()),
        )
    )


def _activity_groups(cohort_id: int) -> list[dict]:
    """The cohort's activities in one scan, grouped by (kind, month): totals, by kind and by
    month are sums over these rows."""
    return list(
        cohort_activities(cohort_id)
        .order_by()
        .annotate(month=TruncMonth("held_on"))
        .values("kind", "month")
        .annotate(
            n=Count("pk"),
            sum_hours=Sum("hours"),
            teachers=Sum("teachers_reached"),
            students=Sum("students_reached"),
        )
    )


ACTIVITY_SUMS = ("n", "sum_hours", "teachers", "students")


def compute(cohort_id: int) -> dict:
    """Every figure of one cohort's summary. Raises Cohort.DoesNotExist for an unknown id.

    Eight queries whatever the cohort's size; the big tables are read three times (the
    schools, the activities, the feedback), each by one GROUP BY whose few hundred rows are
    summed here into the totals and breakdowns (docs/performance.md, "fused summary queries").

    `built_at` is when the computation started: a change committed after it may be missing,
    so the dashboard compares it with `CohortSummary.source_changed_at` to flag staleness.
    """
    started = timezone.now()
    cohort = Cohort.objects.select_related("programme").get(pk=cohort_id)

    partnerships = Partnership.objects.filter(cohort_id=cohort_id)
    by_status = _counts(partnerships, "status", Partnership.Status.values)
    clusters = _counts(Cluster.objects.filter(cohort_id=cohort_id), "status", Cluster.Status.values)

    school_groups = _school_groups(cohort_id)
    by_phase = _with_keys(
        {phase: row["n"] for phase, row in _tally(school_groups, "phase", "n").items()}, Phase.values
    )
    fsm_n = sum(row["fsm_n"] for row in school_groups)
    mean_fsm = sum(row["fsm_sum"] or 0 for row in school_groups) / fsm_n if fsm_n else None

    # Counts and money by status in one query; requested and awarded are sums over statuses.
    application_groups = list(
        Application.objects.filter(cohort_id=cohort_id)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), requested=Sum("requested"), awarded=Sum("awarded"))
    )
    applications_by_status = _with_keys(
        {row["status"]: row["n"] for row in application_groups}, Application.Status.values
    )
    requested = sum(
        (row["requested"] or 0 for row in application_groups if row["status"] in REQUESTED_STATUSES),
        Decimal("0.00"),
    )
    awarded = money(
        sum(
            (row["awarded"] or 0 for row in application_groups if row["status"] in AWARDED_STATUSES),
            Decimal("0.00"),
        )
    )
    paid = Payment.objects.filter(application__cohort_id=cohort_id, status=Payment.Status.PAID).aggregate(
        paid=Coalesce(Sum("amount"), ZERO_MONEY)
    )["paid"]

    activity_groups = _activity_groups(cohort_id)
    activity_totals = {key: sum(row[key] or 0 for row in activity_groups) for key in ACTIVITY_SUMS}
    kinds = _tally(activity_groups, "kind", *ACTIVITY_SUMS)
    by_month = sorted(_tally(activity_groups, "month", *ACTIVITY_SUMS).items())
    cpd_hours = kinds.get(CPDActivity.Kind.TEACHER_CPD, {}).get("sum_hours", 0)

    feedback = Feedback.objects.filter(activity__in=cohort_activities(cohort_id).values("pk")).aggregate(
        responses=Count("pk"),
        expecting_more=Count("pk", filter=Q(expects_more_cpd=True)),
        **{element: Avg(element) for element in FEEDBACK_ELEMENTS},
    )

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
        "schools": sum(row["n"] for row in school_groups),
        "applying_schools": applying_schools(cohort_id).count(),
        "primary": by_phase[Phase.PRIMARY],
        "secondary": by_phase[Phase.SECONDARY],
        "schools_by_phase": by_phase,
        "schools_by_region": _ranked(school_groups, "region", "region"),
        "schools_by_local_authority": _ranked(school_groups, "local_authority", "local_authority"),
        "pupils": sum(row["pupils"] or 0 for row in school_groups),
        "mean_fsm_percent": _mean(mean_fsm),
        "schools_in_opportunity_areas": sum(row["in_oa"] for row in school_groups),
        "applications_by_status": applications_by_status,
        "grants_awarded": applications_by_status[Application.Status.APPROVED]
        + applications_by_status[Application.Status.COMPLETED],
        "budget": str(money(cohort.budget)),
        "requested": str(money(requested)),
        "awarded": str(awarded),
        "paid": str(money(paid)),
        "remaining": str(money(cohort.budget) - awarded),
        "activities": activity_totals["n"],
        "activities_by_kind": {
            kind: {
                "activities": kinds.get(kind, {}).get("n", 0),
                "hours": _dec(kinds.get(kind, {}).get("sum_hours"), "0.0"),
                "teachers_reached": kinds.get(kind, {}).get("teachers", 0),
                "students_reached": kinds.get(kind, {}).get("students", 0),
            }
            for kind in CPDActivity.Kind.values
        },
        "activity_hours": _dec(activity_totals["sum_hours"], "0.0"),
        "cpd_hours": _dec(cpd_hours, "0.0"),
        "teachers_reached": activity_totals["teachers"],
        "students_reached": activity_totals["students"],
        "activities_by_month": [
            {
                "month": month.strftime("%Y-%m"),
                "activities": row["n"],
                "hours": _dec(row["sum_hours"], "0.0"),
                "teachers_reached": row["teachers"],
                "students_reached": row["students"],
            }
            for month, row in by_month
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
