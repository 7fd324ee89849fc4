"""What /healthz reports.

    ok        200  the database and the broker answer, and a worker ran the heartbeat recently
    degraded  200  the web pages work, but background work is not being done: no worker has run
                   the heartbeat (sent by beat every CELERY_HEARTBEAT_SECONDS) for
                   HEALTHZ_WORKER_STALE_SECONDS, or a registered check says so (the outbox: mail
                   waiting too long). Alert on it; do not take the web server out of service.
    down      503  the database or the broker does not answer

Apps above `portal` add their own checks with `register(name, check)`: `check()` returns a dict
with at least {"state": "ok" | "degraded"} (messaging registers the outbox's backlog), so this
module never imports them.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from portal.models import Heartbeat

log = logging.getLogger(__name__)

_checks: dict[str, Callable[[], dict]] = {}


def register(name: str, check: Callable[[], dict]) -> None:
    _checks[name] = check


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("healthz: database down: %s", exc)
        return "down"
    return "ok"


def broker_state() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        log.warning("healthz: broker down: %s", exc)
        return "down"
    return "ok"


def worker_state(now=None) -> tuple[str, str | None]:
    """("ok" | "stale" | "eager", when a worker last ran the heartbeat)."""
    try:
        beat = Heartbeat.objects.filter(name="worker").first()
    except Exception:
        return "unknown", None
    seen = beat.seen_at if beat else None
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager", seen.isoformat() if seen else None
    now = now or timezone.now()
    limit = timedelta(seconds=getattr(settings, "HEALTHZ_WORKER_STALE_SECONDS", 180))
    if seen is None or now - seen > limit:
        return "stale", seen.isoformat() if seen else None
    return "ok", seen.isoformat()


def report() -> tuple[dict, int]:
    checks = {"database": database_state(), "broker": broker_state()}
    down = sorted(name for name, state in checks.items() if state == "down")
    body = dict(checks)
    degraded = []
    if checks["database"] == "ok":
        worker, seen = worker_state()
        body["worker"], body["worker_heartbeat"] = worker, seen
        if worker == "stale":
            degraded.append("worker")
        for name, check in sorted(_checks.items()):
            try:
                result = check()
            except Exception as exc:
                log.warning("healthz: check %s failed: %s", name, exc)
                result = {"state": "degraded", "error": type(exc).__name__}
            body[name] = result
            if result.get("state") != "ok":
                degraded.append(name)
    body["status"] = "down" if down else "degraded" if degraded else "ok"
    if down:
        body["down"] = down
    if degraded:
        body["degraded"] = degraded
    return body, 503 if down else 200
