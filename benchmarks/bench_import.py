"""Import benchmark: import_gias on the 50,000-row GIAS file, into an empty register (first run)
and then again with the same file (the unchanged run). Run by run.py, one child process per
measurement so that each starts alike and its peak RSS is its own.

Each run happens inside a transaction that is rolled back at the end: the register is
emptied first (TRUNCATE ... CASCADE, which PostgreSQL can roll back), so the first run
creates every school, and the bench data is left exactly as it was.

    python benchmarks/bench_import.py [--dataset national] [--tracemalloc]
"""

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, setup_django
from generate import csv_path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="national")
    parser.add_argument("--tracemalloc", action="store_true", help="measure Python allocations (slower)")
    args = parser.parse_args(argv)
    setup_django(args.dataset)

    from django.db import connection, transaction

    from partnerships.gias import import_gias
    from partnerships.models import School

    path = csv_path(args.dataset)
    result = {"file": path.name, "file_mb": path.stat().st_size / 2**20}
    # Load the modules the import uses before the baseline (the opportunity areas, the ORM).
    School.objects.filter(pk=0).exists()
    baseline_rss = _rss_mb()
    result["baseline_rss_mb"] = baseline_rss
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {School._meta.db_table} CASCADE")
        for run in ("first", "unchanged"):
            if args.tracemalloc:
                tracemalloc.start()
            started = time.perf_counter()
            report = import_gias(path)
            elapsed = time.perf_counter() - started
            entry = {
                "seconds": elapsed,
                "rows": report.rows,
                "rows_per_s": report.rows / elapsed,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
                "max_rss_mb": _rss_mb(),
            }
            if args.tracemalloc:
                entry["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            result[run] = entry
        transaction.set_rollback(True)
    emit(result)


if __name__ == "__main__":
    main()
