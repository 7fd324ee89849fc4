"""Settings for the load benchmark's gunicorn: the portal's own (portal/settings.py), and with
BENCH_VARIANT=before the capacity choices of issue 21 undone, so that one run measures the portal
before and after them side by side (benchmarks/load.py):

    database sessions instead of cached_db on Redis
    PBKDF2 (Django's default, 1,000,000 iterations) instead of the tuned Argon2id
    no page cache (portal/pagecache.py) instead of repeat views answered from it

(the worker class is gunicorn's command line: 2 sync workers before, gunicorn.conf.py after).
Never used outside benchmarks/.
"""

import os

from portal.settings import *  # noqa: F403

if os.environ.get("BENCH_VARIANT") == "before":
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    PAGE_CACHE = False
