import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import health
from portal.roles import Role, role_of

log = logging.getLogger(__name__)

LANDING = {
    Role.LEAD: "partnerships:lead_home",
    Role.STAFF: "grants:review_queue",
    Role.FINANCE: "grants:payment_list",
    Role.ADMIN: "evaluation:dashboard",
    Role.REVIEWER: "grants:my_reviews",
}


def home(request):
    """Send each user to the page their role starts from."""
    if not request.user.is_authenticated:
        # The front door (issue 21): what the programmes are, and the eligibility checker.
        return redirect("public:front_door")
    role = role_of(request.user)
    if role in LANDING:
        return redirect(LANDING[role])
    return render(request, "portal/no_role.html", status=403)


@require_GET
def accessibility(request):
    return render(request, "portal/accessibility.html")


@login_required
def account(request):
    return render(request, "portal/account.html")


@never_cache
@require_GET
def healthz(request):
    """JSON for monitors and the container health check: see portal/health.py."""
    body, status = health.report()
    return JsonResponse(body, status=status)


# --- Error pages that cannot fail -----------------------------------------------------------
# An error page is drawn in the portal's layout when it can be. When drawing it fails (the
# database is down, the request was refused before the middleware set it up, a template
# raises), a page built from nothing but this module's text is sent instead, with the same
# status: an error page never turns into a 500 of its own.

_PLAIN_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{title} · STEM Partnerships Portal</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: Arial, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;">
<h1>{title}</h1><p role="alert">{text}</p><p><a href="/">Go to your home page</a></p></body></html>"""

_TEXTS = {
    400: ("Bad request", "The request could not be understood. Check the address or the form and try again."),
    403: ("Not allowed", "You do not have permission to see this page."),
    404: ("Page not found", "There is no page at this address."),
    500: (
        "Something went wrong",
        "An error occurred on our side and has been logged. Nothing you entered has been half-saved; "
        "please try again.",
    ),
}


def plain_error(status: int, text: str | None = None) -> HttpResponse:
    """An error page that touches nothing that can fail: no template, database or request."""
    title, default = _TEXTS.get(status, _TEXTS[500])
    body = _PLAIN_PAGE.format(title=escape(title), text=escape(text or default))
    response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def _error_page(request, template: str, status: int, context=None) -> HttpResponse:
    try:
        return render(request, template, context or {}, status=status)
    except Exception:
        log.exception("Could not draw the %s page; sending the plain one", status)
        return plain_error(status)


def bad_request(request, exception=None):
    if isinstance(exception, DisallowedHost):
        # Refused before the middleware ran: nothing about this request can be trusted.
        return plain_error(400, "This site is not served at that address.")
    return _error_page(request, "400.html", 400)


def permission_denied(request, exception=None):
    return _error_page(request, "403.html", 403, {"message": str(exception or "")})


def page_not_found(request, exception=None):
    return _error_page(request, "404.html", 404)


def server_error(request):
    return _error_page(request, "500.html", 500)
