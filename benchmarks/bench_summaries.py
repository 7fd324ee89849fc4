"""Summaries benchmark: build_cohort_summary for the largest cohort against the same figures by
one hand-written SQL statement, measured side by side (interleaved) in the same run; then the
total to rebuild all ten cohorts. Run by run.py; prints one BENCH-RESULT line.

    python benchmarks/bench_summaries.py [--dataset national]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_meta, emit, repeats, setup_django, spread


def raw_query():
    """The one-query yardstick of benchmarks/summary_bench.py (`one_query`) when it is there,
    else ours (benchmarks/summary_sql.py). Both use unqualified table names, so they run on
    the schema that search_path selects."""
    try:
        import summary_bench
    except ImportError:
        summary_bench = None
    fn = getattr(summary_bench, "one_query", None) if summary_bench else None
    if callable(fn):
        return fn, "benchmarks/summary_bench.py (one_query)"
    import summary_sql

    return summary_sql.raw_summary, "benchmarks/summary_sql.py"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="national")
    args = parser.parse_args(argv)
    setup_django(args.dataset)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    try:
        from evaluation.models import CohortSummary
        from evaluation.tasks import build_cohort_summary
    except ImportError as exc:
        emit({"available": False, "reason": f"not available yet ({exc})"})
        return

    import summary_sql

    meta = bench_meta()
    largest = meta["largest_cohort"]
    raw, raw_source = raw_query()

    def run_task(cohort_id):
        build_cohort_summary.apply((cohort_id,), throw=True)

    # Warm up both (caches, connection, plans), and count the task's queries.
    run_task(largest)
    raw(largest)
    with CaptureQueriesContext(connection) as queries:
        run_task(largest)
    data = CohortSummary.objects.get(cohort_id=largest).data
    disagreements = summary_sql.agrees_with(data, summary_sql.raw_summary(largest))
    other = raw(largest)
    for key in ("schools", "activities", "teachers_reached", "students_reached", "partnerships"):
        if key in other and other[key] != data.get(key):
            disagreements.append(f"{key}: task {data.get(key)} vs {raw_source} {other[key]}")

    n = repeats(7)
    task_times, sql_times = [], []
    for index in range(n):
        order = [("task", run_task), ("sql", raw)] if index % 2 == 0 else [("sql", raw), ("task", run_task)]
        for name, fn in order:
            started = time.perf_counter()
            fn(largest)
            elapsed = (time.perf_counter() - started) * 1000
            (task_times if name == "task" else sql_times).append(elapsed)
    task, sql = spread(task_times), spread(sql_times)

    all_runs = []
    for _ in range(repeats(3)):
        started = time.perf_counter()
        for cohort_id in meta["cohorts"]:
            run_task(cohort_id)
        all_runs.append((time.perf_counter() - started) * 1000)

    emit(
        {
            "available": True,
            "cohort": largest,
            "cohort_partnerships": meta["largest_cohort_partnerships"],
            "task_ms": task,
            "sql_ms": sql,
            "ratio": task["median"] / sql["median"],
            "task_queries": len(queries.captured_queries),
            "raw_query_from": raw_source,
            "figures_agree": not disagreements,
            "disagreements": disagreements,
            "all_cohorts_ms": spread(all_runs),
            "cohorts": len(meta["cohorts"]),
        }
    )


if __name__ == "__main__":
    main()
