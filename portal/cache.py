"""A Redis cache that makes a Redis outage slower, not broken.

`FailSoftRedisCache` is Django's RedisCache with every public operation guarded: while Redis
cannot be reached a read is a miss, a write is dropped, and the error is logged (once per
outage, not once per call). After a failure the cache stays "down" for `RETRY_AFTER` seconds
and answers at once from then on, so a page makes one slow call per outage at most, never one
per lookup. Sockets time out quickly (settings: CACHE_TIMEOUT) so a hanging Redis costs a
fraction of a second, not thirty.

Code that must know whether a value was really counted (rate limits, `portal.throttle`) calls
`count(cache, key, timeout)`, which raises `CacheUnavailable` instead of guessing.
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds a failed cache is left alone before it is tried again


class CacheUnavailable(Exception):
    """The shared cache could not be reached."""


def _cache_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._lock = threading.Lock()
        self._down_until = 0.0

    # --- the breaker ------------------------------------------------------------------

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, operation: str, exc: BaseException) -> None:
        with self._lock:
            first = not self.is_down()
            self._down_until = time.monotonic() + RETRY_AFTER
        if first:
            log.warning(
                "Cache unreachable (%s: %s): serving without it for %.0f s", operation, exc, RETRY_AFTER
            )

    def _guard(self, operation: str, call, default):
        if self.is_down():
            return default
        try:
            return call()
        except _cache_errors() as exc:
            self._failed(operation, exc)
            return default

    def strict(self, operation: str, call):
        """Run `call` against Redis or raise CacheUnavailable (no silent default)."""
        if self.is_down():
            raise CacheUnavailable("the cache is marked down")
        try:
            return call()
        except _cache_errors() as exc:
            self._failed(operation, exc)
            raise CacheUnavailable(str(exc)) from exc

    # --- Django's cache API, guarded -------------------------------------------------------

    def get(self, key, default=None, version=None):
        return self._guard("get", lambda: super(FailSoftRedisCache, self).get(key, default, version), default)

    def get_many(self, keys, version=None):
        return self._guard("get_many", lambda: super(FailSoftRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._guard("has_key", lambda: super(FailSoftRedisCache, self).has_key(key, version), False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._guard("set", lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version), None)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "add", lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version), False
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "set_many", lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version), list(data)
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "touch", lambda: super(FailSoftRedisCache, self).touch(key, timeout, version), False
        )

    def delete(self, key, version=None):
        return self._guard("delete", lambda: super(FailSoftRedisCache, self).delete(key, version), False)

    def delete_many(self, keys, version=None):
        self._guard("delete_many", lambda: super(FailSoftRedisCache, self).delete_many(keys, version), None)

    def incr(self, key, delta=1, version=None):
        # Django's contract: ValueError for a key that is not there. A counter that cannot be
        # read is "not there"; code that must not lose counts uses count() below instead.
        result = self._guard("incr", lambda: super(FailSoftRedisCache, self).incr(key, delta, version), None)
        if result is None:
            raise ValueError(f"Key {key!r} not found (the cache is unreachable).")
        return result

    def clear(self):
        return self._guard("clear", lambda: super(FailSoftRedisCache, self).clear(), False)


def count(cache, key: str, timeout: int) -> int:
    """Add one to the counter `key` (created with `timeout`) and return its value. Raises
    CacheUnavailable when the shared cache cannot be reached. Pass the backend itself
    (caches["default"]), not the django.core.cache.cache proxy."""
    if isinstance(cache, FailSoftRedisCache):

        def call():
            full = cache.make_and_validate_key(key)
            pipe = cache._cache.get_client(full, write=True).pipeline()
            pipe.set(full, 0, ex=timeout, nx=True)
            pipe.incr(full)
            return int(pipe.execute()[1])

        return cache.strict("count", call)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1
