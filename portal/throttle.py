"""Rate limits and the client's address, for every throttle in the portal.

`hit(scope, key)` counts one request in a fixed window and says whether it is over the limit
(settings.PORTAL_RATE_LIMITS overrides the defaults in LIMITS). Counts live in the shared
cache (Redis in production, so every web process counts the same). While that cache cannot
be reached the count falls back to this process's memory: the limit still holds (per process,
so stricter rather than looser per worker), the page still answers, and the fallback is logged.

`client_ip(request)` is the address a limit is keyed on. REMOTE_ADDR is taken as it is unless
it is one of settings.TRUSTED_PROXIES (addresses or networks of the TLS proxy / load balancer
in front of gunicorn); only then is X-Forwarded-For read, from the right, skipping trusted hops,
so a client cannot choose its own address by sending the header itself. `limit_key_for_ip`
groups IPv6 addresses by their /64 network, which one household or attacker typically holds.
"""

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches

from portal.cache import CacheUnavailable, count

log = logging.getLogger(__name__)

# requests per window (seconds); settings.PORTAL_RATE_LIMITS = {"scope": (limit, window)} overrides
LIMITS = {
    "signup": (10, 60 * 60),  # sign-up and invitation sign-up forms posted, per client address
    "signup_email": (3, 60 * 60),  # sign-ups for one e-mail address (each sends it an e-mail)
    "verify": (10, 60 * 60),  # passwords tried on e-mail verification links, per client address
    "invite": (30, 60 * 60),  # e-mail invitations sent or resent, per user
    "survey": (60, 60 * 60),  # teacher survey answers and room codes tried, per client address
    "code": (10, 60 * 60),  # one-time codes asked for or tried, per invitation and per client address
    "password_reset": (10, 60 * 60),  # password-reset requests, per client address
    "password_reset_email": (3, 60 * 60),  # password-reset e-mails to one address
    "eligibility": (120, 60 * 60),  # public eligibility-checker searches, per client address
}


@dataclass(frozen=True)
class Verdict:
    over: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    def __bool__(self) -> bool:  # `if hit(...)` reads as "if over the limit"
        return self.over


def limit_for(scope: str) -> tuple[int, int]:
    return getattr(settings, "PORTAL_RATE_LIMITS", {}).get(scope, LIMITS[scope])


# --- Counting, with a per-process fallback ----------------------------------------------------

_local_lock = threading.Lock()
_local: dict[str, tuple[int, float]] = {}  # bucket -> (count, monotonic time it expires)


def _local_count(bucket: str, window: int) -> int:
    now = time.monotonic()
    with _local_lock:
        if len(_local) > 10_000:  # drop expired buckets now and then
            for key in [k for k, (_, until) in _local.items() if until <= now]:
                del _local[key]
        value, until = _local.get(bucket, (0, now + window))
        if until <= now:
            value, until = 0, now + window
        _local[bucket] = (value + 1, until)
        return value + 1


def reset_local_counters() -> None:
    """Forget the in-process fallback counts (tests, and nothing else)."""
    with _local_lock:
        _local.clear()


def hit(scope: str, key: str) -> Verdict:
    """Count one request for `key` in `scope`; the verdict is truthy when over the limit."""
    limit, window = limit_for(scope)
    now = time.time()
    slot = int(now // window)
    bucket = f"ratelimit:{scope}:{key}:{slot}"
    try:
        value = count(caches["default"], bucket, window)
    except CacheUnavailable:
        log.warning("rate limit %s counted in this process only: the shared cache is unreachable", scope)
        value = _local_count(bucket, window)
    retry_after = max(1, int((slot + 1) * window - now))
    return Verdict(over=value > limit, count=value, limit=limit, retry_after=retry_after)


# --- The client's address --------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_proxies() -> tuple:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))


def _parse(value: str):
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address, networks) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the nearest untrusted hop of X-Forwarded-For when
    the request came through one of settings.TRUSTED_PROXIES. "unknown" if neither parses."""
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_proxies()
    if remote is None:
        return "unknown"
    if not networks or not _is_trusted(remote, networks):
        return str(remote)
    client = remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops[:50]):
        address = _parse(hop)
        if address is None:  # a malformed hop: trust nothing to its left
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)


def limit_key_for_ip(ip: str) -> str:
    """The key a per-address limit counts under: the address, or its /64 for IPv6."""
    address = _parse(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address) if address else "unknown"


def axes_client_ip(request) -> str | None:
    """settings.AXES_CLIENT_IP_CALLABLE: the same address, or None (axes stores NULL)."""
    ip = client_ip(request)
    return None if ip == "unknown" else ip
