"""Strict readers for settings taken from the environment.

Every reader names the variable in its error, so a typo in production stops
start-up with a message instead of running with a silently wrong value.
"""

import os
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None:
        if required:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(
            f"{name} must be a comma-separated list without empty items, got {value!r}."
        )
    return items


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or networks (10.0.0.0/8, 2001:db8::/32)."""
    import ipaddress

    items = env_list(name, [])
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks, got {item!r}.") from None
    return items


_DB_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql", "psql"}


def env_database(name: str, default: str) -> dict:
    value = _raw(name) or default
    scheme = urlsplit(value).scheme
    if scheme not in _DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a sqlite:/// or postgres:// URL, got scheme {scheme or '(none)'!r} in {value!r}."
        )
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises assorted errors on malformed URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if scheme != "sqlite" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, e.g. postgres://user@host:5432/portal.")
    return config


# filesystem:// is kombu's filesystem transport: the broker of the embedded default (`make run`),
# a folder of message files that needs no server (portal/settings.py, CELERY_FILESYSTEM_FOLDER).
_BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "memory", "filesystem"}


def env_broker(name: str) -> str | None:
    value = _raw(name)
    if value is None:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in _BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a redis://, rediss://, amqp://, filesystem:// or memory:// URL, got {value!r}."
        )
    return value


def env_email(name: str, default: str = "consolemail://") -> dict:
    """EMAIL_URL such as smtp+tls://user:password@smtp.example.org:587 or consolemail://."""
    value = _raw(name) or default
    try:
        config = environ.Env.email_url_config(value)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name} is not a valid email URL: {exc}") from None
    if not config.get("EMAIL_BACKEND"):
        raise ImproperlyConfigured(f"{name} has an unknown scheme: {value!r}.")
    return config


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, got {value!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, got {value!r}.")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
    return number


def env_cache(name: str, *, timeout: float = 0.5) -> dict:
    """CACHE_URL: redis://host:6379/1 for a cache shared by every web process (rate limits,
    cached lists); unset: a per-process in-memory cache (fine for one process).

    Redis is reached through portal.cache.FailSoftRedisCache: an outage makes pages slower,
    never an error, and a socket that does not answer gives up after `timeout` seconds."""
    value = _raw(name)
    if value is None:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if urlsplit(value).scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(f"{name} must be a redis:// or rediss:// URL, got {value!r}.")
    return {
        "BACKEND": "portal.cache.FailSoftRedisCache",
        "LOCATION": value,
        "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
    }
