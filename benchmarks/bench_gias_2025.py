"""GIAS import at national size, in the 2025 layout, against the importer as it was (issue 15).

    python benchmarks/bench_gias_2025.py [--rows 50000] [--repeats 3]

Writes two files of the same generated establishments (generate.gias_rows, seeded) to a
temporary folder — never committed: the old 34-column bench layout (latin-1) for the old
importer (partnerships/gias.py at 450cefb, loaded from git), and the 2025 all-establishments
layout (about 120 columns, no Ofsted columns, Windows-1252, with LastChangedDate) for today's
`import_gias`. Each measurement is its own process (so its peak RSS is its own), on PostgreSQL
(BENCH_GIAS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/portal_bench_gias, created
and migrated if missing), inside a transaction that empties the register and is rolled back:
a first run into an empty register, then the same file again (unchanged). Figures go to
benchmarks/results/gias_2025.json.
"""

import argparse
import csv
import importlib.util
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
OLD_COMMIT = "450cefb"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_gias"
RESULT = HERE / "results" / "gias_2025.json"


def _url() -> str:
    return os.environ.get("BENCH_GIAS_DATABASE_URL", DEFAULT_URL)


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    import generate

    sys.path.insert(0, str(ROOT / "tests" / "data" / "gias"))
    from build_samples import LAYOUT_2025

    old_path, new_path = folder / "gias_old_layout.csv", folder / "edubasealldata2025.csv"
    rng = random.Random("bench-gias-2025")
    with (
        old_path.open("w", encoding="latin-1", newline="") as old,
        new_path.open("w", encoding="cp1252", newline="") as new,
    ):
        old_writer, new_writer = csv.writer(old), csv.writer(new)
        old_writer.writerow(generate.GIAS_COLUMNS)
        new_writer.writerow(LAYOUT_2025)
        for row in generate.gias_rows(rows, rng):
            old_writer.writerow(row)
            values = dict(zip(generate.GIAS_COLUMNS, row, strict=True))
            values["LastChangedDate"] = values.pop("OfstedLastInsp", "")
            new_writer.writerow([values.get(column, "") for column in LAYOUT_2025])
    return old_path, new_path


def _old_importer():
    """partnerships/gias.py as it was before issue 15, with its opportunity-areas CSV."""
    folder = Path(tempfile.mkdtemp())
    source = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:partnerships/gias.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    areas = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:partnerships/data/opportunity_areas.csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (folder / "opportunity_areas.csv").write_text(areas, encoding="utf-8")
    (folder / "old_gias.py").write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_gias", folder / "old_gias.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OPPORTUNITY_AREAS_FILE = folder / "opportunity_areas.csv"
    return module.import_gias


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, path: str, traced: bool) -> dict:
    import django

    django.setup()
    from django.db import connection, transaction

    from partnerships import gias
    from partnerships.models import School

    importer = _old_importer() if mode == "old" else gias.import_gias
    gias.COPY_ON_POSTGRES = mode != "new_orm"  # new_orm: today's importer writing with bulk_create
    School.objects.filter(pk=0).exists()
    result = {"baseline_rss_mb": _rss_mb()}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {School._meta.db_table} CASCADE")
        for run in ("first", "unchanged"):
            if traced:
                tracemalloc.start()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = importer(path)
            seconds = time.perf_counter() - started
            entry = {
                "seconds": seconds,
                "cpu_seconds": time.process_time() - cpu_started,  # this process only, not PostgreSQL's
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "skipped": getattr(report, "skipped", 0),
                "rejected": len(report.rejected),
                "max_rss_mb": _rss_mb(),
            }
            if traced:
                entry["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            result[run] = entry
        # What the register holds (id and updated_at aside), so the two write paths can be compared.
        columns = [f.column for f in School._meta.concrete_fields if f.column not in ("id", "updated_at")]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT md5(string_agg(row({', '.join(columns)})::text, '|' ORDER BY urn)) "
                f"FROM {School._meta.db_table}"
            )
            result["register_md5"] = cursor.fetchone()[0]
        transaction.set_rollback(True)
    return result


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "TEST_DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=_url(),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def ensure_database() -> None:
    import psycopg2

    name = _url().rsplit("/", 1)[1]
    conn = psycopg2.connect(_url().rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "--verbosity", "0"],
        env=_env(),
        check=True,
    )


def run_child(mode: str, path: Path, traced: bool = False) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), *(["--traced"] if traced else [])],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"))
    parser.add_argument("--traced", action="store_true")
    parser.add_argument("--no-traced", action="store_true", help="skip the (slow) tracemalloc runs")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.traced)))
        return
    ensure_database()
    with tempfile.TemporaryDirectory() as folder:
        old_path, new_path = write_files(Path(folder), args.rows)
        result = {
            "rows_generated": args.rows,
            "old_file_mb": old_path.stat().st_size / 2**20,
            "new_file_mb": new_path.stat().st_size / 2**20,
            "load_average_at_start": os.getloadavg()[0],
        }
        modes = {"old": old_path, "new_orm": new_path, "new": new_path}
        runs = {mode: [] for mode in modes}
        for _ in range(args.repeats):  # interleaved, so a busy spell of the shared machine slows all three
            for mode, path in modes.items():
                runs[mode].append(run_child(mode, path))
        for mode, path in modes.items():
            traced = None if args.no_traced else run_child(mode, path, traced=True)
            result[mode] = {
                "first_seconds": [r["first"]["seconds"] for r in runs[mode]],
                "unchanged_seconds": [r["unchanged"]["seconds"] for r in runs[mode]],
                "first_median_s": statistics.median(r["first"]["seconds"] for r in runs[mode]),
                "unchanged_median_s": statistics.median(r["unchanged"]["seconds"] for r in runs[mode]),
                "rss_growth_mb": statistics.median(
                    r["unchanged"]["max_rss_mb"] - r["baseline_rss_mb"] for r in runs[mode]
                ),
                "first_cpu_median_s": statistics.median(r["first"]["cpu_seconds"] for r in runs[mode]),
                "unchanged_cpu_median_s": statistics.median(
                    r["unchanged"]["cpu_seconds"] for r in runs[mode]
                ),
                "peak_traced_mb_first": traced and traced["first"]["peak_mb"],
                "peak_traced_mb_unchanged": traced and traced["unchanged"]["peak_mb"],
                "register_md5": runs[mode][0]["register_md5"],
                "counts_first": {k: runs[mode][0]["first"][k] for k in ("rows", "created", "rejected")},
                "counts_unchanged": {
                    k: runs[mode][0]["unchanged"][k]
                    for k in ("created", "updated", "unchanged", "skipped", "rejected")
                },
            }
        result["load_average_at_end"] = os.getloadavg()[0]
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
