"""Fixes proposed to other apps, measured here without changing their code (docs/performance.md,
"Findings and fixes"). Run by run.py (`--only experiments`); prints one BENCH-RESULT line.

1. Review queue: an index matching the queue's ORDER BY (grants.Application:
   `models.Index(fields=["-submitted_at", "-created_at", "-id"], name="application_queue_order")`).
   Measured by creating the index inside a transaction that is rolled back.
2. Cohort summary: the same figures with the school queries fused into one GROUP BY and the
   activity queries into one GROUP BY (kind, month), derived in Python: `fused_compute` below
   is evaluation.summaries.compute with that change; its output is checked to be identical.
"""

import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_meta, emit, repeats, setup_django


def fused_compute(cohort_id: int) -> dict:
    """evaluation.summaries.compute with 3 scans of the big tables instead of 8."""
    from django.db.models import Avg, Count, Q, Sum
    from django.db.models.functions import TruncMonth

    from clusters.models import CPDActivity, Feedback
    from evaluation import summaries as s
    from partnerships.models import Phase

    original_counts, original_ranked = s._counts, s._ranked
    schools_qs = s.cohort_schools(cohort_id)
    groups = list(
        schools_qs.order_by()
        .values("phase", "region", "local_authority")
        .annotate(
            n=Count("pk"),
            pupils=Sum("pupils"),
            fsm_sum=Sum("fsm_percent"),
            fsm_n=Count("fsm_percent"),
            oa=Count("pk", filter=~Q(opportunity_area="")),
        )
    )
    activity_groups = list(
        s.cohort_activities(cohort_id)
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

    def tally(field):
        totals: dict = {}
        for row in groups:
            totals[row[field]] = totals.get(row[field], 0) + row["n"]
        return totals

    def counts(queryset, field, keys):
        if queryset.model is schools_qs.model:
            found = tally(field)
            result = {key: found.pop(key, 0) for key in keys}
            result.update({k or "unknown": n for k, n in sorted(found.items(), key=lambda kv: str(kv[0]))})
            return result
        return original_counts(queryset, field, keys)

    def ranked(queryset, field, label):
        rows = sorted(tally(field).items(), key=lambda kv: (-kv[1], kv[0]))
        return [{label: key or "Not recorded", "schools": n} for key, n in rows]

    class SchoolsStandIn:
        """cohort_schools(): aggregate() answered from the grouped rows."""

        model = schools_qs.model

        def aggregate(self, **kwargs):
            fsm_n = sum(r["fsm_n"] for r in groups)
            return {
                "schools": sum(r["n"] for r in groups),
                "total_pupils": sum(r["pupils"] or 0 for r in groups),
                "mean_fsm": (sum(r["fsm_sum"] or 0 for r in groups) / fsm_n) if fsm_n else None,
                "in_opportunity_areas": sum(r["oa"] for r in groups),
            }

    class ActivitiesStandIn:
        """cohort_activities(): the three activity queries answered from one GROUP BY."""

        def __init__(self, real):
            self.real = real

        def aggregate(self, **kwargs):
            return {
                "activities": sum(r["n"] for r in activity_groups),
                "total_hours": sum((r["sum_hours"] for r in activity_groups), Decimal("0.0")),
                "cpd_hours": sum(
                    (r["sum_hours"] for r in activity_groups if r["kind"] == CPDActivity.Kind.TEACHER_CPD),
                    Decimal("0.0"),
                ),
                "teachers": sum(r["teachers"] for r in activity_groups),
                "students": sum(r["students"] for r in activity_groups),
            }

        def order_by(self):
            return self

        def values(self, *fields):
            if fields == ("pk",):
                return self.real.values("pk")
            return _Grouped(fields[0])

        def annotate(self, **kwargs):
            return self

    class _Grouped:
        def __init__(self, field):
            self.field = field

        def annotate(self, **kwargs):
            merged: dict = {}
            for r in activity_groups:
                row = merged.setdefault(
                    r[self.field],
                    {
                        self.field: r[self.field],
                        "n": 0,
                        "sum_hours": Decimal(0),
                        "teachers": 0,
                        "students": 0,
                    },
                )
                for key in ("n", "sum_hours", "teachers", "students"):
                    row[key] += r[key]
            return _Rows(sorted(merged.values(), key=lambda row: row[self.field]))

    class _Rows(list):
        def order_by(self, *fields):
            return self

    real_schools, real_activities = s.cohort_schools, s.cohort_activities
    s._counts, s._ranked = counts, ranked
    s.cohort_schools = lambda cid: SchoolsStandIn()
    s.cohort_activities = lambda cid: ActivitiesStandIn(real_activities(cid))
    try:
        return s.compute(cohort_id)
    finally:
        s._counts, s._ranked = original_counts, original_ranked
        s.cohort_schools, s.cohort_activities = real_schools, real_activities
        del Avg, Feedback, Phase  # imported for readers of this experiment


def _median_ms(fn, *args, n):
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


def queue_index(meta, n) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from grants.selectors import review_queue

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
        result[name] = {"before_ms": _median_ms(fn, n=n)[0]}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX application_queue_order ON grants_application "
                "(submitted_at DESC, created_at DESC, id DESC)"
            )
            cursor.execute("ANALYZE grants_application")
        for name, fn in variants.items():
            fn()
            result[name]["after_ms"] = _median_ms(fn, n=n)[0]
        transaction.set_rollback(True)
    return result


def summary_fusion(meta, n) -> dict:
    import summary_bench

    from evaluation import summaries

    cohort = meta["largest_cohort"]
    original = summaries.compute(cohort)
    fused = fused_compute(cohort)
    same = {k: v for k, v in original.items() if k != "built_at"} == {
        k: v for k, v in fused.items() if k != "built_at"
    }
    orig_t, fused_t, sql_t = [], [], []
    for _ in range(n):
        for fn, bucket in (
            (summaries.compute, orig_t),
            (fused_compute, fused_t),
            (summary_bench.one_query, sql_t),
        ):
            started = time.perf_counter()
            fn(cohort)
            bucket.append((time.perf_counter() - started) * 1000)
    o, f, q = statistics.median(orig_t), statistics.median(fused_t), statistics.median(sql_t)
    return {
        "identical_output": same,
        "compute_ms": o,
        "fused_compute_ms": f,
        "one_query_ms": q,
        "ratio_before": o / q,
        "ratio_after": f / q,
    }


def main() -> None:
    setup_django("national")
    meta = bench_meta()
    n = repeats(7)
    emit({"queue_index": queue_index(meta, n), "summary_fusion": summary_fusion(meta, n)})


if __name__ == "__main__":
    main()
