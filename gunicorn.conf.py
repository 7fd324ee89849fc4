"""gunicorn settings for the portal (production, docker-compose and `make bench` use this file):

    gunicorn -c gunicorn.conf.py portal.wsgi:application

Threaded workers (gthread): a request mostly waits on PostgreSQL, Redis or a password hash (all
of which release the GIL), so a few threads per process serve several requests at once where a
sync worker would sit idle and queue the rest. Two processes per core by default, 2 threads each:
on 2 cores that is 4 x 2 = 8 requests in progress and 8 database connections (CONN_MAX_AGE keeps
one per thread). More processes with fewer threads, rather than one process per core with 4: a
page drawn from scratch holds its process's GIL for 30-90 ms, and with 4 processes the cached
pages keep flowing through the others (100 users, same run conditions: p95 210 ms with 2 x 4,
68-100 ms with 4 x 2; docs/performance.md). Tune with the environment:

    WEB_CONCURRENCY   processes (default: twice the number of cores)
    GUNICORN_THREADS  threads per process (default 2)
    GUNICORN_BIND     address (default 0.0.0.0:8000)
    GUNICORN_TIMEOUT  seconds a request may take before its worker is restarted (default 30)
    GUNICORN_MAX_REQUESTS  requests after which a worker is replaced (default 20000; 0: never),
                      each worker's own figure drawn up to half as much again, so they are replaced
                      at different times

The application is loaded once, in the master, before the workers are forked (preload_app): a
worker that is replaced is forked again in milliseconds instead of importing Django for 2.4 s.
Replacing both workers at about the same time (the old max_requests of 2000, jitter 200, reached
by both after ~45 s of the load benchmark) stopped the server for 4 s and took the 100-user p99
to 4.3 s (docs/performance.md, "Capacity for 100 users"). The cost of preloading: new code needs
a full restart (`kill -HUP` re-forks the old code), which is how containers deploy anyway.

Measured in docs/performance.md ("Capacity for 100 users").
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count())
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 2)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 20
keepalive = 5  # seconds an idle keep-alive connection (from the proxy) is held open
preload_app = True
# Replace each process now and then, far apart (jittered by up to half): bounds any slow leak.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = max_requests // 2
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
