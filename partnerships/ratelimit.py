"""Rate limits for sign-up, verification and invitations: the portal's one throttle
(portal/throttle.py) under the names these views have always used.

`hit(scope, key)` counts one request and is truthy when it is over the limit; counts are shared
through the cache (Redis in production) and fall back to this process's memory while Redis is
down, so a limit still holds and the page still answers. `client_ip` honours
settings.TRUSTED_PROXIES only."""

from django.shortcuts import render

from portal.throttle import LIMITS, Verdict, client_ip, hit, limit_for, limit_key_for_ip

__all__ = ["LIMITS", "Verdict", "client_ip", "hit", "limit_for", "limit_key_for_ip", "too_many"]


def too_many(request, message: str, verdict: Verdict | None = None):
    response = render(
        request,
        "partnerships/too_many_requests.html",
        {"message": message, "retry_minutes": (verdict.retry_after + 59) // 60 if verdict else None},
        status=429,
    )
    if verdict is not None:
        response["Retry-After"] = str(verdict.retry_after)
    return response
