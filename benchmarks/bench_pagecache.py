"""In-process micro-benchmark of the page cache (portal/pagecache.py): for each hot page of the
load test, the median time of a render (a miss: the cache emptied before each view) against a
repeat view answered from the cache (a hit), with the queries each runs.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python benchmarks/bench_pagecache.py

Uses the process's cache (CACHE_URL: Redis, as in production; unset: per-process memory).
Not part of `make bench`; figures are recorded in docs/performance.md by hand.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pages import _ensure_summaries, logged_in_client, page_specs, resolve_paths
from common import QUICK, bench_meta, emit, setup_django

HOT = [
    "lead_home",
    "lead_application",
    "review_queue",
    "review_queue_filtered",
    "staff_application",
    "dashboard",
    "dashboard_index",
]


def main() -> None:
    setup_django("national")
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.PAGE_CACHE = True
    meta = bench_meta()
    _ensure_summaries(meta)
    paths = resolve_paths(meta)
    specs = {spec["key"]: spec for spec in page_specs(meta)}
    n = 5 if QUICK else 20
    clients = {}
    results = {}
    for key in HOT:
        spec, path = specs[key], paths.get(key)
        if path is None:
            continue
        if spec["user"] not in clients:
            logged_in_client(clients, spec["user"]).get(path)  # the CSRF cookie
        client = clients[spec["user"]]
        miss_ms, hit_ms = [], []
        for _ in range(n):
            cache.clear()
            started = time.perf_counter()
            first = client.get(path)
            miss_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            second = client.get(path)
            hit_ms.append((time.perf_counter() - started) * 1000)
        cache.clear()
        with CaptureQueriesContext(connection) as miss_q:
            client.get(path)  # rendered and stored
        with CaptureQueriesContext(connection) as hit_q:
            last = client.get(path)
        results[key] = {
            "label": spec["label"],
            "status": first.status_code,
            "outcome": [first.get("X-Page-Cache"), second.get("X-Page-Cache"), last.get("X-Page-Cache")],
            "miss_ms": round(statistics.median(miss_ms), 1),
            "hit_ms": round(statistics.median(hit_ms), 1),
            "miss_queries": len(miss_q.captured_queries),
            "hit_queries": len(hit_q.captured_queries),
            "n": n,
        }
    for row in results.values():
        print(
            f"{row['label'][:48]:<48} miss {row['miss_ms']:>7.1f} ms {row['miss_queries']:>3} q   "
            f"hit {row['hit_ms']:>6.1f} ms {row['hit_queries']:>2} q   {row['outcome']}"
        )
    emit({"pages": results})


if __name__ == "__main__":
    main()
