"""Sessions read from the shared cache, written through to the database.

`SessionStore` is Django's cached_db store with one change: a session is kept in the cache for at
most SESSION_CACHE_SECONDS (settings; 5 minutes), not for its whole life. The cache is Redis
behind `portal.cache.FailSoftRedisCache`, which drops a write while Redis cannot be reached: a
log-out during such an outage deletes the session in the database but cannot delete the cached
copy. The cap bounds how long such a stale copy can be read once Redis is back; without an
outage the cache is always current (every save and delete goes to both).

settings.py uses it only when CACHE_URL names Redis (a cache every web process shares). With the
per-process memory cache a log-out in one process would not reach the others, so the embedded
default keeps plain database sessions.
"""

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.core.cache.backends.base import DEFAULT_TIMEOUT


class _CappedCache:
    """The session cache, with every write's lifetime capped."""

    def __init__(self, cache, cap: int):
        self._cache, self._cap = cache, cap

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if timeout is DEFAULT_TIMEOUT or timeout is None or timeout > self._cap:
            timeout = self._cap
        return self._cache.set(key, value, timeout, version=version)

    def __contains__(self, key):
        return key in self._cache

    def __getattr__(self, name):
        return getattr(self._cache, name)


class SessionStore(CachedDBStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = _CappedCache(self._cache, settings.SESSION_CACHE_SECONDS)
