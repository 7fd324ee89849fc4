"""Password reset, throttled and timing-blind.

The request never looks the address up: it counts the request against two limits (per client
address, per e-mail address) and queues `portal.tasks.send_password_reset`, then answers with
the same page whatever the address. So a known address and an unknown one cost the request the
same work, and nobody can make the portal mail-bomb a colleague. The reset link is built from
settings.PORTAL_BASE_URL, never from the request's Host header. Setting a new password through
the link lifts the log-in delay on the account (portal/loginguard.py)."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.crypto import salted_hmac

from portal import loginguard, throttle

log = logging.getLogger(__name__)


def _address_key(email: str) -> str:
    return salted_hmac("portal.accounts.reset", email.strip().lower(), algorithm="sha256").hexdigest()[:32]


def reset_link_parts() -> tuple[str, str]:
    """(protocol, domain) of the links in password-reset e-mails."""
    parts = urlsplit(settings.PORTAL_BASE_URL)
    return parts.scheme or "https", parts.netloc or "localhost"


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        from portal.tasks import send_password_reset

        email = form.cleaned_data["email"]
        verdict = throttle.hit("password_reset", throttle.limit_key_for_ip(throttle.client_ip(self.request)))
        if verdict:
            response = render(
                self.request,
                "portal/too_many_resets.html",
                {"minutes": (verdict.retry_after + 59) // 60},
                status=429,
            )
            response["Retry-After"] = str(verdict.retry_after)
            return response
        if not throttle.hit("password_reset_email", _address_key(email)):
            try:
                send_password_reset.delay(email)
            except Exception as exc:  # the broker is away: slower, not broken
                log.warning("password reset: broker unavailable (%s); sending from the request", exc)
                send_password_reset(email)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        loginguard.clear_account(form.user.get_username())
        return response
