"""What every benchmark script shares: where the bench data lives, Django set-up against it,
and the statistics we report (median and spread of several measurements).

The bench database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/portal_bench)
holds two data sets, each in its own PostgreSQL schema so that they never mix:
  bench_national  the national-scale data (50,000 schools, 2,000 partnerships, ...)
  bench_small     the same shapes at about 1/100 of the size (to check query counts do not grow)
A connection picks its data set with `search_path`, passed in the database URL's `options`.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
DATA_DIR = BENCH_DIR / "data"
OUT_DIR = BENCH_DIR / "out"

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
SCHEMAS = {"national": "bench_national", "small": "bench_small"}
# A password every generated user shares (benchmark data only; never a real account).
BENCH_PASSWORD = "bench-portal-2026-load"
# Production-like settings for the in-process page benchmarks and the gunicorn server.
BENCH_SECRET_KEY = "bench-only-secret-key-" + "x" * 40

QUICK = os.environ.get("BENCH_QUICK") == "1"


def base_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL


def dataset_url(dataset: str) -> str:
    """The bench database URL, with search_path set to the data set's schema."""
    parts = urlsplit(base_url())
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"BENCH_DATABASE_URL must be a postgres:// URL, got {base_url()!r}.")
    query = (
        parts.query + ("&" if parts.query else "") + "options=" + quote(f"-c search_path={SCHEMAS[dataset]}")
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def server_env(dataset: str, **extra) -> dict:
    """Environment for a Django process (in-process benchmark or gunicorn) on a data set:
    production settings (DEBUG off), eager Celery, plain HTTP on loopback."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "TEST_DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=dataset_url(dataset),
        DEBUG="false",
        SECRET_KEY=BENCH_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,testserver",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def setup_django(dataset: str) -> None:
    """Configure this process for a data set, then django.setup()."""
    for key, value in server_env(dataset).items():
        if key not in os.environ or key in (
            "DATABASE_URL",
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "LOG_LEVEL",
        ):
            os.environ[key] = value
    os.environ.pop("CELERY_BROKER_URL", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Statistics --------------------------------------------------------------------------


def repeats(default: int = 5) -> int:
    return int(os.environ.get("BENCH_REPEATS") or (2 if QUICK else default))


def spread(values: list[float]) -> dict:
    """Median and spread of some measurements (min, max, and the IQR when there are 4+)."""
    values = sorted(values)
    result = {
        "n": len(values),
        "median": statistics.median(values),
        "min": values[0],
        "max": values[-1],
    }
    if len(values) >= 4:
        q1, _q2, q3 = statistics.quantiles(values, n=4)
        result["iqr"] = q3 - q1
    return result


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def emit(result: dict) -> None:
    """How a benchmark child process hands its result to run.py: one JSON line on stdout,
    after a marker (so that anything else printed does not confuse the reader)."""
    sys.stdout.write("\nBENCH-RESULT " + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()


def bench_meta() -> dict:
    """The data set's bench_meta (written by generate.py), read through Django's connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'meta'")
        value = cursor.fetchone()[0]
    return json.loads(value) if isinstance(value, str) else value


def parse_emitted(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT ") :])
    return None
