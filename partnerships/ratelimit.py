"""Fixed-window request counters in Django's cache, for sign-up and invitations.

`hit(scope, key, limit=…, window=…)` counts one request and says whether it is over the limit.
The cache is per process unless settings give a shared one (Redis): with several gunicorn
workers on the default in-memory cache each worker counts on its own."""

import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

# Defaults, overridable in settings: requests per window (seconds).
LIMITS = {
    "signup": (10, 60 * 60),  # sign-up and invitation sign-up forms posted, per IP address
    "verify": (10, 60 * 60),  # passwords tried on e-mail verification links, per IP address
    "invite": (30, 60 * 60),  # e-mail invitations sent or resent, per user
    "code": (10, 60 * 60),  # one-time codes asked for or tried, per invitation and per IP address
}


def limit_for(scope: str) -> tuple[int, int]:
    return getattr(settings, "PORTAL_RATE_LIMITS", {}).get(scope, LIMITS[scope])


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(scope: str, key: str) -> bool:
    """Count one request for `key` in `scope`; True when it is over the limit."""
    limit, window = limit_for(scope)
    bucket = f"ratelimit:{scope}:{key}:{int(time.time() // window)}"
    cache.add(bucket, 0, timeout=window)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window)
        count = 1
    return count > limit


def too_many(request, message: str):
    return render(request, "partnerships/too_many_requests.html", {"message": message}, status=429)
