"""gunicorn settings for the portal (production, docker-compose and `make bench` use this file):

    gunicorn -c gunicorn.conf.py portal.wsgi:application

Threaded workers (gthread): a request mostly waits on PostgreSQL, Redis or a password hash (all
of which release the GIL), so a few threads per process serve several requests at once where a
sync worker would sit idle and queue the rest. One process per core by default, 4 threads each:
on 2 cores that is 8 requests in progress and 8 database connections (CONN_MAX_AGE keeps one per
thread). Tune with the environment:

    WEB_CONCURRENCY   processes (default: the number of cores)
    GUNICORN_THREADS  threads per process (default 4)
    GUNICORN_BIND     address (default 0.0.0.0:8000)
    GUNICORN_TIMEOUT  seconds a request may take before its worker is restarted (default 30)

Measured in docs/performance.md ("Capacity for 100 users").
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count())
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 20
keepalive = 5  # seconds an idle keep-alive connection (from the proxy) is held open
# Restart each process now and then (jittered, so not all at once): bounds any slow leak.
max_requests = 2000
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
