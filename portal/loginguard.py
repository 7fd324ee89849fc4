"""Log-in throttling that an attacker cannot turn against a real user.

The pattern is OWASP's "device cookies", as large sites use it: a browser that has logged in
to an account before holds a signed cookie naming that account. Failed log-ins are counted
in three places (the `LoginThrottle` table, so every web process sees the same counts):

- **per account, from browsers unknown to it**: after `account_free` failures the account is
  closed *to unknown browsers* for a delay that doubles with every further failure (1 minute,
  2, 4 … at most an hour). Someone behind the same school proxy, or anywhere else, can delay
  strangers' guesses at a colleague's account, but not the colleague on the browser she always
  uses. Resetting the password clears the delay (the reset link proves the mailbox).
- **per device**: a browser the account knows gets `device_free` failures before it is delayed
  in the same way (a stolen laptop does not get unlimited guesses either).
- **per client address**: `ip_per_hour` failures from one address (a /64 for IPv6) across any
  accounts close the address to unknown browsers until the hour is over, so guessing a few
  passwords at each of many accounts is stopped too. The address is the one
  portal.throttle.client_ip trusts (X-Forwarded-For only from settings.TRUSTED_PROXIES).

A refused attempt is not checked against the password at all and is answered with a 429 page
saying how long to wait (LoginGuardMiddleware). Settings: LOGIN_THROTTLE (see portal/settings.py).
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.models import LoginThrottle
from portal.throttle import client_ip, limit_key_for_ip

log = logging.getLogger(__name__)

DEVICE_COOKIE = "portal_device"
DEVICE_SALT = "portal.loginguard.device"
DEVICE_MAX_AGE = 60 * 60 * 24 * 365
DEVICE_MAX_ACCOUNTS = 10  # accounts one browser (a shared staff-room computer) is remembered for

DEFAULTS = {
    "account_free": 5,
    "device_free": 10,
    "ip_per_hour": 30,
    "first_delay": 60,
    "max_delay": 60 * 60,
    "forget_after": 24 * 60 * 60,
}


def policy() -> dict:
    return {**DEFAULTS, **getattr(settings, "LOGIN_THROTTLE", {})}


def _digest(*parts: str) -> str:
    return salted_hmac("portal.loginguard", "\x1f".join(parts), algorithm="sha256").hexdigest()[:32]


def normalise_username(value) -> str:
    return str(value or "").strip().lower()[:254]


def account_key(username: str) -> str:
    return f"account:{_digest(normalise_username(username))}"


# --- The device cookie -------------------------------------------------------------------------


def _read_cookie(request) -> dict:
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return {}
    try:
        data = signing.loads(raw, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return {}
    if not isinstance(data.get("a"), list):
        return {}
    return data


def trusted_device(request, username: str) -> str | None:
    """The device id when this browser has logged in to `username` before, else None."""
    data = _read_cookie(request)
    if data and _digest(normalise_username(username)) in data["a"]:
        return data["d"]
    return None


def _cookie_after_login(request, username: str) -> str:
    data = _read_cookie(request) or {"d": secrets.token_urlsafe(16), "a": []}
    account = _digest(normalise_username(username))
    accounts = [a for a in data["a"] if a != account and isinstance(a, str)]
    data["a"] = [account, *accounts][:DEVICE_MAX_ACCOUNTS]
    return signing.dumps(data, salt=DEVICE_SALT)


# --- Counting and deciding ------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds
    reason: str  # "account", "device" or "address"

    @property
    def minutes(self) -> int:
        return max(1, (self.retry_after + 59) // 60)


def _keys(request, username: str) -> tuple[list[tuple[str, str]], bool]:
    """The counters an attempt is judged by: [(key, reason)], and whether the device is trusted."""
    device = trusted_device(request, username)
    if device:
        return [(f"device:{_digest(normalise_username(username), device)}", "device")], True
    ip = limit_key_for_ip(client_ip(request))
    return [(account_key(username), "account"), (f"ip:{ip}", "address")], False


def refusal_for(request, username: str, now=None) -> Refusal | None:
    now = now or timezone.now()
    keys, _ = _keys(request, username)
    locks = LoginThrottle.objects.filter(key__in=[k for k, _ in keys], locked_until__gt=now)
    reasons = dict(keys)
    worst = max(locks, key=lambda row: row.locked_until, default=None)
    if worst is None:
        return None
    return Refusal(int((worst.locked_until - now).total_seconds()) + 1, reasons[worst.key])


def _delay(failures: int, free: int, rules: dict) -> int | None:
    if failures < free:
        return None
    return min(rules["max_delay"], rules["first_delay"] * 2 ** min(failures - free, 20))


def record_failure(request, username: str, now=None) -> None:
    rules = policy()
    now = now or timezone.now()
    keys, trusted = _keys(request, username)
    forget = timedelta(seconds=rules["forget_after"])
    with transaction.atomic():
        for key, reason in keys:
            row, _ = LoginThrottle.objects.select_for_update().get_or_create(key=key)
            if reason == "address":
                if row.first_failure_at is None or now - row.first_failure_at >= timedelta(hours=1):
                    row.failures, row.first_failure_at = 0, now
                row.failures += 1
                if row.failures >= rules["ip_per_hour"]:
                    row.locked_until = row.first_failure_at + timedelta(hours=1)
            else:
                if row.last_failure_at is None or now - row.last_failure_at >= forget:
                    row.failures, row.first_failure_at = 0, now
                row.failures += 1
                free = rules["device_free"] if trusted else rules["account_free"]
                delay = _delay(row.failures, free, rules)
                if delay:
                    row.locked_until = now + timedelta(seconds=delay)
            row.last_failure_at = now
            row.save()
            if row.locked_until and row.locked_until > now:
                seconds = int((row.locked_until - now).total_seconds())
                log.warning("log-in throttled (%s) for %s s", reason, seconds)


def clear_account(username: str) -> None:
    """Lift the delay on an account for unknown browsers (after a password reset)."""
    LoginThrottle.objects.filter(key=account_key(username)).delete()


# --- Wiring: an authentication backend, two signals and a middleware --------------------------------


class LoginThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: refuses a throttled attempt before any password is
    checked. Authenticates nobody itself, and has no get_user(), so sessions and the test
    client's force_login never pick it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        refusal = refusal_for(request, username)
        if refusal is not None:
            request.login_refusal = refusal
            raise PermissionDenied("Too many failed log-ins.")
        return None


@receiver(user_login_failed, dispatch_uid="portal.loginguard.failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, "login_refusal", None):
        return  # a refused attempt is not counted again: the delay stays what it was
    try:
        record_failure(request, credentials.get("username", ""))
    except Exception:  # never turn a wrong password into an error page
        log.exception("could not record a failed log-in")


@receiver(user_logged_in, dispatch_uid="portal.loginguard.success")
def _on_success(sender, request, user, **kwargs):
    if request is None:
        return
    username = user.get_username()
    keys, _ = _keys(request, username)
    LoginThrottle.objects.filter(key__in=[k for k, reason in keys if reason != "address"]).delete()
    request.login_device_cookie = _cookie_after_login(request, username)


class LoginGuardMiddleware:
    """Answers a refused log-in with the 429 page, and gives a browser that logged in its
    device cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        refusal = getattr(request, "login_refusal", None)
        if refusal is not None:
            response = render(request, "portal/login_throttled.html", {"refusal": refusal}, status=429)
            response["Retry-After"] = str(refusal.retry_after)
        cookie = getattr(request, "login_device_cookie", None)
        if cookie:
            response.set_cookie(
                DEVICE_COOKIE,
                cookie,
                max_age=DEVICE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
