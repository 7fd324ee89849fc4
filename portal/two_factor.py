"""A second factor for the people who approve and pay money (django-otp).

Programme staff and admins (and anyone with Django-admin access) must have a time-based
one-time-password device (an authenticator app, TOTP) and use it at each log-in; ten single-use
recovery codes (a static device) stand in when the phone is lost. A lead may opt in, and then
the same rule holds for them. `SecondFactorMiddleware` confines a signed-in session that still
owes its second factor to the two-factor pages (and log-out): every staff page and the Django
admin redirect there, and the first log-in walks the person through enrolment.
"""

import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.roles import Role, role_of

RECOVERY_CODES = 10
ALWAYS_ALLOWED = ("/static/", "/healthz", "/favicon.ico", "/accounts/logout/")


def must_use_second_factor(user) -> bool:
    """Staff, admins and Django-admin users always; anyone else once they have enrolled."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser or role_of(user) in (Role.STAFF, Role.FINANCE, Role.ADMIN):
        return True
    return has_confirmed_device(user)


# Whether a user has a confirmed device is asked on every page a lead (who has none, mostly) opens:
# two queries (one per device model). The answer is kept in the cache (shared Redis in production)
# and forgotten whenever one of the user's devices is saved or deleted (signals below; after
# commit too, so an answer read while the write was in flight is not kept). The lifetime bounds
# an answer a Redis outage kept from being forgotten: a lead who enrols in one browser is asked
# for the code in their other sessions at the latest this long after. The verify and set-up pages
# and the log-in ask the database directly.
DEVICE_CACHE_SECONDS = 60


def _device_key(user_id) -> str:
    return f"two_factor:has_device:{user_id}"


def has_confirmed_device(user) -> bool:
    key = _device_key(user.pk)
    found = cache.get(key)
    if found is None:
        found = user_has_device(user, confirmed=True)
        cache.set(key, found, DEVICE_CACHE_SECONDS)
    return found


def forget_device(user_id) -> None:
    key = _device_key(user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


@receiver(post_save, sender=TOTPDevice)
@receiver(post_delete, sender=TOTPDevice)
@receiver(post_save, sender=StaticDevice)
@receiver(post_delete, sender=StaticDevice)
def _device_changed(sender, instance, **kwargs):
    forget_device(instance.user_id)


def _safe_next(request, default="home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return resolve_url(default)


class SecondFactorMiddleware:
    """After django_otp's OTPMiddleware: a session that owes its second factor reaches only
    the two-factor pages; everything else redirects there (with ?next=)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(ALWAYS_ALLOWED)
            and not request.path.startswith("/account/two-factor/")
            and must_use_second_factor(user)
        ):
            target = "two_factor_verify" if has_confirmed_device(user) else "two_factor_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


def _new_recovery_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes")
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@never_cache
@login_required
def verify(request):
    """Enter the code from the authenticator app (or a recovery code)."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    if not user_has_device(request.user, confirmed=True):
        return redirect(f"{reverse('two_factor_setup')}?{urlencode({'next': _safe_next(request)})}")
    error = ""
    if request.method == "POST":
        token = (request.POST.get("token") or "").strip().replace(" ", "")
        device = match_token(request.user, token) if token.isdigit() and len(token) <= 8 else None
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request, f"You used a recovery code; {left} left. Make new ones on your account page."
                )
            return redirect(_safe_next(request))
        error = "That code is not right, or was already used. Check the time on your phone and try again."
    return render(
        request,
        "registration/two_factor_verify.html",
        {"error": error, "next": _safe_next(request)},
        status=400 if error else 200,
    )


@never_cache
@login_required
def setup(request):
    """Enrol an authenticator app: scan the code (or type the key), enter a code to prove it."""
    user = request.user
    if user_has_device(user, confirmed=True) and not user.is_verified():
        return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': _safe_next(request)})}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    error = ""
    if request.method == "POST":
        token = (request.POST.get("token") or "").strip().replace(" ", "")
        if token.isdigit() and len(token) == device.digits and device.verify_token(token):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
            otp_login(request, device)
            request.session["two_factor_recovery_codes"] = _new_recovery_codes(user)
            return redirect(f"{reverse('two_factor_recovery')}?{urlencode({'next': _safe_next(request)})}")
        error = "That code is not right. Enter the 6 digits your app shows now."
    import segno

    qr = segno.make(device.config_url, error="m").svg_inline(
        scale=4, title="QR code for your authenticator app"
    )
    key = device.config_url.split("secret=")[1].split("&")[0]
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "qr": qr,
            "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            "error": error,
            "next": _safe_next(request),
            "required": must_use_second_factor(user),
        },
        status=400 if error else 200,
    )


@never_cache
@login_required
def recovery(request):
    """Show the recovery codes just made (once), or make new ones (POST, when verified)."""
    error = ""
    if request.method == "POST":
        if request.user.is_verified():
            request.session["two_factor_recovery_codes"] = _new_recovery_codes(request.user)
            return redirect("two_factor_recovery")
        error = "Turn on sign-in codes first: recovery codes stand in for your authenticator app."
    codes = request.session.pop("two_factor_recovery_codes", None)
    return render(
        request,
        "registration/two_factor_recovery.html",
        {"codes": codes, "next": _safe_next(request, "account"), "error": error},
        status=400 if error else 200,
    )
