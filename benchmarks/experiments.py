"""The fixes of docs/performance.md ("What changed each figure"), each measured in the same run
with and without it, so that a busy machine slows both sides alike. Run by run.py
(`--only experiments`); prints one BENCH-RESULT line. Every fix is now in the application code;
"without" is recreated here:

1. Review queue index (grants.Application `application_queue_order`, on -submitted_at,
   -created_at, -id): the queue's queries with the index, then without it (dropped inside a
   transaction that is rolled back).
2. Cached region list (grants.views.review_queue): the register query it used to run on every
   request against a cache hit.
3. Fused summary queries (evaluation.summaries.compute): `unfused_compute` below is compute()
   as it was before (14 queries, the big tables scanned eight times), timed interleaved with
   today's compute() and the one-query yardstick; the two outputs are checked to be identical.
4. Capacity (issue 21), each pair interleaved: a lead's partnerships (the lead home's main query)
   as "pk IN a OR pk IN b" (before) against "pk IN (a UNION b)" (today), same rows checked; the
   cohort dashboard rendered with its figures' fragment cache empty against a hit; the header's
   unread count as a query against a cache hit.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_meta, emit, repeats, setup_django


def unfused_compute(cohort_id: int) -> dict:
    """evaluation.summaries.compute before the fusion (commit 7dba593): one query per figure
    group, so the cohort's schools are scanned four times and its activities three times."""
    from django.db.models import Avg, Count, Q, Sum
    from django.db.models.functions import Coalesce, TruncMonth
    from django.utils import timezone

    from clusters.models import Cluster, CPDActivity, Feedback
    from evaluation import summaries as s
    from grants.models import Application, Payment
    from partnerships.models import Cohort, Partnership, Phase
    from portal.money import money

    def ranked(queryset, field, label):
        rows = queryset.order_by().values(field).annotate(n=Count("pk")).order_by("-n", field)
        return [{label: row[field] or "Not recorded", "schools": row["n"]} for row in rows]

    zero_hours = s.Value(s.Decimal("0.0"), output_field=s.DecimalField(max_digits=12, decimal_places=1))
    started = timezone.now()
    cohort = Cohort.objects.select_related("programme").get(pk=cohort_id)
    partnerships = Partnership.objects.filter(cohort_id=cohort_id)
    by_status = s._counts(partnerships, "status", Partnership.Status.values)
    clusters = s._counts(Cluster.objects.filter(cohort_id=cohort_id), "status", Cluster.Status.values)

    schools = s.cohort_schools(cohort_id)
    school_totals = schools.aggregate(
        schools=Count("pk"),
        total_pupils=Coalesce(Sum("pupils"), 0),
        mean_fsm=Avg("fsm_percent"),
        in_opportunity_areas=Count("pk", filter=~Q(opportunity_area="")),
    )
    by_phase = s._counts(schools, "phase", Phase.values)

    applications = Application.objects.filter(cohort_id=cohort_id)
    money_totals = applications.aggregate(
        requested=Coalesce(Sum("requested", filter=Q(status__in=s.REQUESTED_STATUSES)), s.ZERO_MONEY),
        awarded=Coalesce(Sum("awarded", filter=Q(status__in=s.AWARDED_STATUSES)), s.ZERO_MONEY),
    )
    paid = Payment.objects.filter(application__cohort_id=cohort_id, status=Payment.Status.PAID).aggregate(
        paid=Coalesce(Sum("amount"), s.ZERO_MONEY)
    )["paid"]
    applications_by_status = s._counts(applications, "status", Application.Status.values)

    activities = s.cohort_activities(cohort_id)
    activity_totals = activities.aggregate(
        activities=Count("pk"),
        total_hours=Coalesce(Sum("hours"), zero_hours),
        cpd_hours=Coalesce(Sum("hours", filter=Q(kind=CPDActivity.Kind.TEACHER_CPD)), zero_hours),
        teachers=Coalesce(Sum("teachers_reached"), 0),
        students=Coalesce(Sum("students_reached"), 0),
    )
    sums = {
        "n": Count("pk"),
        "sum_hours": Sum("hours"),
        "teachers": Sum("teachers_reached"),
        "students": Sum("students_reached"),
    }
    kinds = {row["kind"]: row for row in activities.order_by().values("kind").annotate(**sums)}
    by_month = (
        activities.order_by()
        .annotate(month=TruncMonth("held_on"))
        .values("month")
        .annotate(**sums)
        .order_by("month")
    )
    feedback = Feedback.objects.filter(activity__in=activities.values("pk")).aggregate(
        responses=Count("pk"),
        expecting_more=Count("pk", filter=Q(expects_more_cpd=True)),
        **{element: Avg(element) for element in s.FEEDBACK_ELEMENTS},
    )

    awarded = money(money_totals["awarded"])
    responses = feedback["responses"]
    return {
        "schema": s.SCHEMA_VERSION,
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
        "schools_by_region": ranked(schools, "region", "region"),
        "schools_by_local_authority": ranked(schools, "local_authority", "local_authority"),
        "pupils": school_totals["total_pupils"],
        "mean_fsm_percent": s._mean(school_totals["mean_fsm"]),
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
                "hours": s._dec(kinds.get(kind, {}).get("sum_hours"), "0.0"),
                "teachers_reached": kinds.get(kind, {}).get("teachers") or 0,
                "students_reached": kinds.get(kind, {}).get("students") or 0,
            }
            for kind in CPDActivity.Kind.values
        },
        "activity_hours": s._dec(activity_totals["total_hours"], "0.0"),
        "cpd_hours": s._dec(activity_totals["cpd_hours"], "0.0"),
        "teachers_reached": activity_totals["teachers"],
        "students_reached": activity_totals["students"],
        "activities_by_month": [
            {
                "month": row["month"].strftime("%Y-%m"),
                "activities": row["n"],
                "hours": s._dec(row["sum_hours"], "0.0"),
                "teachers_reached": row["teachers"],
                "students_reached": row["students"],
            }
            for row in by_month
        ],
        "feedback": {
            "responses": responses,
            **{element: s._mean(feedback[element]) for element in s.FEEDBACK_ELEMENTS},
            "expects_more_cpd_percent": (
                round(100 * feedback["expecting_more"] / responses, 1) if responses else None
            ),
        },
    }


def _median_ms(fn, *args, n):
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _queries(fn, *args) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn(*args)
    return len(captured.captured_queries)


def queue_index(meta, n) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from grants.selectors import review_queue

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'application_queue_order'")
        if not cursor.fetchone():
            return {"available": False, "reason": "index application_queue_order not in the schema"}
    user = User.objects.get(username=meta["staff"][0])
    variants = {
        "page 1": lambda: list(review_queue(user)[:25]),
        "filtered, page 2": lambda: list(
            review_queue(user, cohort=meta["largest_cohort"], status="submitted")[25:50]
        ),
    }
    result = {}
    for name, fn in variants.items():
        fn()
        result[name] = {"with_ms": _median_ms(fn, n=n)}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX application_queue_order")
        for name, fn in variants.items():
            fn()
            result[name]["without_ms"] = _median_ms(fn, n=n)
        transaction.set_rollback(True)
    return {"available": True, "queries": result}


def region_cache(meta, n) -> dict:
    from django.core.cache import cache

    from grants import views

    key, seconds = views.REGIONS_CACHE_KEY, views.REGIONS_CACHE_SECONDS
    cache.delete(key)
    regions = cache.get_or_set(key, views._register_regions, seconds)
    return {
        "regions": len(regions),
        "without_ms": _median_ms(views._register_regions, n=n),
        "with_ms": _median_ms(lambda: cache.get_or_set(key, views._register_regions, seconds), n=n),
    }


def summary_fusion(meta, n) -> dict:
    import summary_bench

    from evaluation import summaries

    cohort = meta["largest_cohort"]

    def strip(data):
        return {k: v for k, v in data.items() if k != "built_at"}

    same = strip(unfused_compute(cohort)) == strip(summaries.compute(cohort))
    queries = {"unfused": _queries(unfused_compute, cohort), "fused": _queries(summaries.compute, cohort)}
    summary_bench.one_query(cohort)
    before, after, sql = [], [], []
    for _ in range(n):
        for fn, bucket in (
            (unfused_compute, before),
            (summaries.compute, after),
            (summary_bench.one_query, sql),
        ):
            started = time.perf_counter()
            fn(cohort)
            bucket.append((time.perf_counter() - started) * 1000)
    b, a, q = statistics.median(before), statistics.median(after), statistics.median(sql)
    return {
        "identical_output": same,
        "queries_without": queries["unfused"],
        "queries_with": queries["fused"],
        "without_ms": b,
        "with_ms": a,
        "one_query_ms": q,
        "ratio_without": b / q,
        "ratio_with": a / q,
    }


def _pairs(before, after, n) -> tuple[float, float]:
    before(), after()
    b, a = [], []
    for _ in range(n):
        for fn, bucket in ((before, b), (after, a)):
            started = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - started) * 1000)
    return statistics.median(b), statistics.median(a)


def capacity(meta, n) -> dict:
    """Issue 21's cheaper pages, each without and with, interleaved."""
    import bench_pages
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.db.models import Count, Q
    from django.test import Client
    from django.urls import reverse

    from messaging.delivery import _unread_key, unread_count
    from messaging.models import Notification
    from partnerships import selectors
    from partnerships.models import Membership, Partnership

    cast = bench_pages.cast(meta)
    lead = User.objects.get(username=cast["lead"])

    def home_query(base):
        return list(
            base.select_related("cohort__programme", "lead_school")
            .annotate(confirmed=Count("memberships", filter=Q(memberships__status="confirmed")))
            .order_by("-cohort__starts_on", "name")
        )

    def or_query():
        ids = (
            Membership.objects.filter(school__in=selectors.verified_schools(lead))
            .exclude(status=Membership.Status.DECLINED)
            .values("partnership_id")
        )
        return home_query(Partnership.objects.filter(Q(pk__in=ids) | Q(pk__in=selectors._own_drafts(lead))))

    def union_query():
        return home_query(selectors.partnerships_for(lead))

    same = [p.pk for p in or_query()] == [p.pk for p in union_query()]
    q_before, q_after = _pairs(or_query, union_query, n)

    admin = User.objects.get(username=cast["admin"])
    client = Client()
    client.force_login(admin)
    bench_pages._pass_second_factor(client, admin)
    url = reverse("evaluation:cohort", kwargs={"pk": cast["cohort"]})

    def dashboard_miss():
        cache.clear()
        client.get(url)

    def dashboard_hit():
        client.get(url)

    d_before, d_after = _pairs(dashboard_miss, dashboard_hit, n)

    def unread_query():
        Notification.objects.filter(user=lead, read_at__isnull=True).count()

    def unread_hit():
        unread_count(lead)

    cache.delete(_unread_key(lead.pk))
    u_before, u_after = _pairs(unread_query, unread_hit, n)
    return {
        "lead_partnerships": {"without_ms": q_before, "with_ms": q_after, "same_rows": same},
        "dashboard_fragment": {"without_ms": d_before, "with_ms": d_after},
        "unread_count": {"without_ms": u_before, "with_ms": u_after},
    }


def main() -> None:
    setup_django("national")
    meta = bench_meta()
    n = repeats(7)
    emit(
        {
            "queue_index": queue_index(meta, n),
            "region_cache": region_cache(meta, n),
            "summary_fusion": summary_fusion(meta, n),
            "capacity": capacity(meta, n),
        }
    )


if __name__ == "__main__":
    main()
