"""Settings for the STEM Partnerships Portal: one file, read from the environment.

With nothing set, the portal runs on the embedded default: SQLite in the project
folder, Celery tasks run eagerly in-process (`make run` instead starts a worker on kombu's
filesystem transport, CELERY_BROKER_URL=filesystem://), e-mail printed to the console, DEBUG on.
Production sets DEBUG=false, SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL,
ALLOWED_HOSTS and EMAIL_URL (see README.md, "Production").
"""

import datetime
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from portal.env import (
    env_bool,
    env_broker,
    env_cache,
    env_database,
    env_email,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Under pytest the suite runs on TEST_DATABASE_URL when given (CI: PostgreSQL), and
# Celery stays eager except in tests that start a real worker (tests/conftest.py).
TESTING = "pytest" in sys.modules

DEBUG = env_bool("DEBUG", default=not TESTING and env_str("SECRET_KEY") is None)

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-local-development-only"
elif not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "messaging",
    "partnerships",
    "clusters",
    "grants",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # second factor (issue 13): request.user.is_verified()
    "portal.two_factor.SecondFactorMiddleware",  # staff and admins cannot go further without it
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "portal.loginguard.LoginGuardMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.role",
            ],
            "builtins": ["portal.templatetags.money"],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if TESTING and env_str("TEST_DATABASE_URL"):
    DATABASES = {"default": env_database("TEST_DATABASE_URL", "")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60 if not (DEBUG or TESTING) else 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Wait for a competing writer instead of failing at once ("database is locked"). WAL: under
    # `make run` runserver and the worker share the file, and readers then never wait for a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared cache (rate limits of sign-up and invitations, cached lists): Redis in production so
# that every gunicorn worker counts the same; per-process memory otherwise. A Redis outage makes
# pages slower, never an error (portal/cache.py); CACHE_TIMEOUT bounds each call to Redis.
CACHE_TIMEOUT = env_float("CACHE_TIMEOUT", 0.5, minimum=0.05)
CACHES = {"default": env_cache("CACHE_URL" if not TESTING else "TEST_CACHE_URL", timeout=CACHE_TIMEOUT)}

# Whole rendered pages of logged-in GETs, per user and session, invalidated by table versions
# (portal/pagecache.py, docs/architecture.md "Page cache"). PAGE_CACHE=false turns it off. On by
# default only where the cache is shared by every process (Redis), and under test: with the
# embedded default's per-process memory a worker's writes could not drop the web process's pages.
# A page lives at most PAGE_CACHE_SECONDS: the bound on what no table records (a deadline passing).
PAGE_CACHE = env_bool(
    "PAGE_CACHE", TESTING or CACHES["default"]["BACKEND"] == "portal.cache.FailSoftRedisCache"
)
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 60, minimum=1)

# Sessions: read from the cache when it is Redis (shared by every web process), written through to
# the database (portal/sessions.py: cached_db, a cached copy lives at most SESSION_CACHE_SECONDS).
# With the per-process memory cache of the embedded default, plain database sessions: a log-out
# in one process must not leave the session alive in another's memory.
SESSION_CACHE_SECONDS = env_int("SESSION_CACHE_SECONDS", 300, minimum=1)
SESSION_ENGINE = (
    "portal.sessions"
    if CACHES["default"]["BACKEND"] == "portal.cache.FailSoftRedisCache"
    else "django.contrib.sessions.backends.db"
)

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "portal.loginguard.LoginThrottleBackend",  # refuses throttled log-ins before any password check
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "portal.passwords.SimilarityToWhatTheyChose"},  # no "username" for people with none
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id, memory-hard, its cost tunable (portal/passwords.py). The default is OWASP's
# "m=19 MiB, t=2, p=1" (about 25 ms on one core here, against about 275 ms for Django's PBKDF2 with
# 1,000,000 iterations: log-ins dominated the load test, docs/performance.md). The PBKDF2 hashers
# stay in the list so that a hash made before Argon2 still verifies; Django re-hashes it with
# Argon2 (and with changed parameters) at the next log-in.
PASSWORD_ARGON2 = {
    "time_cost": env_int("ARGON2_TIME_COST", 2, minimum=1),
    "memory_cost": env_int("ARGON2_MEMORY_KIB", 19456, minimum=8192),
    "parallelism": env_int("ARGON2_PARALLELISM", 1, minimum=1),
}
PASSWORD_HASHERS = [
    "portal.passwords.TunedArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
if TESTING:  # hashing is deliberately slow; the suite logs in hundreds of times
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Log-in throttling (portal/loginguard.py): per account for browsers it has never logged in
# from (a third party cannot lock a colleague out of the browser she uses), per known browser,
# and per client address; delays double from first_delay up to max_delay.
LOGIN_THROTTLE = {
    "account_free": env_int("LOGIN_ACCOUNT_FAILURES", 5, minimum=1),
    "device_free": env_int("LOGIN_DEVICE_FAILURES", 10, minimum=1),
    "ip_per_hour": env_int("LOGIN_ADDRESS_FAILURES_PER_HOUR", 30, minimum=1),
    "first_delay": 60,
    "max_delay": 60 * 60,
    "forget_after": 24 * 60 * 60,
}
# django-axes only keeps the log of attempts (AccessAttempt/AccessLog, purged with personal
# data); the lock-out decisions are loginguard's.
AXES_LOCK_OUT_AT_FAILURE = False
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.throttle.axes_client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Second factor (portal/two_factor.py): TOTP apps plus recovery codes; the issuer names the
# portal in the authenticator app; a device is throttled after wrong codes.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "STEM Partnerships Portal")

# --- Proxies and rate limits ------------------------------------------------------------
# Addresses or networks of the TLS proxy / load balancer in front of gunicorn. Only a request
# whose REMOTE_ADDR is one of them has its X-Forwarded-For read (portal/throttle.py); with none
# set, the header is ignored and every limit counts REMOTE_ADDR.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ---------------------------------------------------------------------------
# Every e-mail goes through the outbox (messaging/outbox.py): written in the transaction of the
# change it tells about, sent after commit by a Celery task, retried with growing delays. Django's
# EMAIL_BACKEND is the outbox; the backend that really sends (SMTP from EMAIL_URL in
# production) is MESSAGING_TRANSPORT_BACKEND.
vars().update(env_email("EMAIL_URL"))
if env_str("EMAIL_BACKEND"):
    EMAIL_BACKEND = env_str("EMAIL_BACKEND")
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MESSAGING_TRANSPORT_BACKEND = EMAIL_BACKEND
EMAIL_BACKEND = "messaging.backends.OutboxBackend"
# Seconds one SMTP conversation may take before it is abandoned and retried later.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
MESSAGING_MAX_ATTEMPTS = env_int("MESSAGING_MAX_ATTEMPTS", 8, minimum=1)
MESSAGING_RETRY_SECONDS = env_int("MESSAGING_RETRY_SECONDS", 60, minimum=1)  # then 2, 4, 8 … minutes
MESSAGING_RETRY_MAX_SECONDS = 60 * 60
MESSAGING_SWEEP_SECONDS = env_int("MESSAGING_SWEEP_SECONDS", 60, minimum=1)
MESSAGING_WAITING_ALERT_SECONDS = 15 * 60  # /healthz says "degraded" when mail waits longer
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "STEM Partnerships Portal <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")

# --- Celery ---------------------------------------------------------------------------
# How the worker survives its broker (docs/operations.md, "Celery and its broker"): no task is
# ever sent with a countdown or ETA (a worker holding one when Redis drops dies of kombu's
# AttributeError 'hostname'; delays live in the database instead), the worker reconnects for
# ever, running tasks finish (their results are in the database, not the broker), and beat's
# sweeps re-send what a restarted, empty Redis forgot.
CELERY_BROKER_URL = env_broker("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None or TESTING
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 30)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # reconnect for as long as the broker is away
# A task running when the connection drops finishes and writes its result to the database;
# cancelling it would only hand it back to a broker that (restarted without persistence) may
# have forgotten it.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # longer than any task's time limit: a message goes to another worker only when the one
    # that took it is gone
    "visibility_timeout": 3600,
    # a broker that does not answer is noticed in seconds, by the web process and the worker
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "socket_keepalive": True,
    "health_check_interval": 10,
}
# --- Celery on the embedded default (issue 21) -------------------------------------------
# `make run` sets CELERY_BROKER_URL=filesystem:// and starts a worker beside runserver: kombu's
# filesystem transport keeps each message as a file in CELERY_FILESYSTEM_FOLDER, so long work
# (summary rebuilds, impact estimates, imports) leaves the request exactly as in production,
# with no broker server to install. One folder serves both sides (the web process writes, the
# worker reads); Redis' socket options mean nothing to it.
if CELERY_BROKER_URL.startswith("filesystem:"):
    CELERY_FILESYSTEM_FOLDER = Path(env_str("CELERY_FILESYSTEM_FOLDER", str(BASE_DIR / "var" / "celery")))
    for _sub in ("messages", "control"):
        (CELERY_FILESYSTEM_FOLDER / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_FOLDER / "messages"),
        "data_folder_out": str(CELERY_FILESYSTEM_FOLDER / "messages"),
        "control_folder": str(CELERY_FILESYSTEM_FOLDER / "control"),
        "polling_interval": 0.5,
    }
    # The worker is a second process: a per-process memory cache would let each side keep what the
    # other has changed (the header's unread count, forgotten when a task writes a notification).
    # Without CACHE_URL both share a file cache in the same folder tree instead.
    if CACHES["default"]["BACKEND"].endswith("LocMemCache") and not TESTING:
        CACHES["default"] = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(CELERY_FILESYSTEM_FOLDER.parent / "cache"),
        }
# --- end of the embedded-default Celery block ----------------------------------------------
CELERY_TIMEZONE = TIME_ZONE
# The static beat schedule lives in portal/celery.py (CELERY_BEAT_SCHEDULE there).
CELERY_HEARTBEAT_SECONDS = env_int("CELERY_HEARTBEAT_SECONDS", 60, minimum=1)
# /healthz reports "degraded" when no worker has run the heartbeat for this long.
HEALTHZ_WORKER_STALE_SECONDS = env_int("HEALTHZ_WORKER_STALE_SECONDS", 180, minimum=1)
# Beat re-queues cohort summaries whose rebuild was lost, this often (evaluation/tasks.py).
SUMMARY_SWEEP_SECONDS = env_int("SUMMARY_SWEEP_SECONDS", 60, minimum=1)
# A queued rebuild not started after this long is presumed lost and queued again.
SUMMARY_QUEUED_EXPIRES_SECONDS = env_int("SUMMARY_QUEUED_EXPIRES_SECONDS", 120, minimum=1)

# Broker used by tests marked celery_worker (a real worker on Redis).
TEST_CELERY_BROKER_URL = env_broker("TEST_CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Programme data -------------------------------------------------------------------
# Daily GIAS refresh (partnerships/refresh.py): URL patterns with {date:%Y%m%d}; empty = off.
GIAS_DOWNLOAD_URL = env_str("GIAS_DOWNLOAD_URL", "")
GIAS_LINKS_DOWNLOAD_URL = env_str("GIAS_LINKS_DOWNLOAD_URL", "")
GIAS_DOWNLOAD_TIMEOUT = env_int("GIAS_DOWNLOAD_TIMEOUT", 60, minimum=1)
GIAS_DOWNLOAD_MAX_BYTES = env_int("GIAS_DOWNLOAD_MAX_BYTES", 300 * 1024 * 1024, minimum=1024)
GIAS_REFRESH_HOUR = env_int("GIAS_REFRESH_HOUR", 6, minimum=0)
# Largest file the upload page accepts.
DATA_IMPORT_MAX_BYTES = env_int("DATA_IMPORT_MAX_BYTES", 300 * 1024 * 1024, minimum=1024)
for _name in ("GIAS_DOWNLOAD_URL", "GIAS_LINKS_DOWNLOAD_URL"):
    _pattern = globals()[_name]
    try:
        _pattern.format(date=datetime.date(2025, 4, 22))
    except (KeyError, IndexError, ValueError, AttributeError) as _exc:
        raise ImproperlyConfigured(f"{_name} is not a URL pattern with {{date:%Y%m%d}}: {_exc}") from _exc
# 360Giving publisher prefix for grant identifiers: 360G-<publisher>-<reference>.
GRANTS_360G_PREFIX = env_str("GRANTS_360G_PREFIX", "360G-stemportal")
# Set FUNDER_ORG_ID to the funder's real org-id.guide identifier before publishing.
FUNDER_ORG_ID = env_str("FUNDER_ORG_ID", "XI-PORTAL-FUNDER")
FUNDER_ORG_NAME = env_str("FUNDER_ORG_NAME", "STEM Learning")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Files (issue 20; docs/operations.md "Files") ----------------------------------------------
# Uploads are stored through STORAGES["default"]: the filesystem under MEDIA_ROOT unless
# FILE_STORAGE=s3, then S3-compatible object storage through django-storages (its AWS_* settings,
# read here from the environment). Files are never served from MEDIA_URL: only the scoped
# download view (grants.file_views.attachment_download) reads them.
if env_str("FILE_STORAGE", "filesystem") == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", required=True),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL"),
            "region_name": env_str("AWS_S3_REGION_NAME"),
            "access_key": env_str("AWS_ACCESS_KEY_ID"),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif env_str("FILE_STORAGE", "filesystem") != "filesystem":
    raise ImproperlyConfigured("FILE_STORAGE must be 'filesystem' or 's3'.")
if TESTING:
    import tempfile

    MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="portal-test-media-"))
# Uploads larger than this go to a temporary file as they stream in, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024, minimum=0)
APPLICATION_FILES_MAX_BYTES = env_int("APPLICATION_FILES_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
REPORT_EVIDENCE_MAX_BYTES = env_int("REPORT_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
REPORT_FILES_MAX_BYTES = env_int("REPORT_FILES_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# The virus check: a clamd Unix socket path or tcp://host:port; empty = no scan.
CLAMD_SOCKET = env_str("CLAMD_SOCKET", "")
CLAMD_TIMEOUT = env_int("CLAMD_TIMEOUT", 30, minimum=1)
