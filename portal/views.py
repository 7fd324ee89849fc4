import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from portal.models import Heartbeat
from portal.roles import Role, role_of

log = logging.getLogger(__name__)

LANDING = {
    Role.LEAD: "partnerships:lead_home",
    Role.STAFF: "grants:review_queue",
    Role.ADMIN: "evaluation:dashboard",
}


def home(request):
    """Send each user to the page their role starts from."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    role = role_of(request.user)
    if role in LANDING:
        return redirect(LANDING[role])
    return render(request, "portal/no_role.html", status=403)


@login_required
def account(request):
    return render(request, "portal/account.html")


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("healthz: database down: %s", exc)
        return "down"
    return "ok"


def _broker_state() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        log.warning("healthz: broker down: %s", exc)
        return "down"
    return "ok"


def _worker_seen_at() -> str | None:
    """When a worker last ran the heartbeat task (informational: a quiet worker is not an outage)."""
    try:
        beat = Heartbeat.objects.filter(name="worker").first()
    except Exception:
        return None
    return beat.seen_at.isoformat() if beat else None


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database_state(), "broker": _broker_state()}
    down = sorted(name for name, state in checks.items() if state == "down")
    body = {"status": "down" if down else "ok", **checks}
    if checks["database"] == "ok":
        body["worker_heartbeat"] = _worker_seen_at()
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
