"""Settings for the Zeeguu gamification service.

Everything that differs between a laptop, CI and production comes from the environment:

- ``DEBUG``: ``1``/``true``/``on`` turns debug mode on (off by default).
- ``SECRET_KEY``: required unless ``DEBUG`` is on.
- ``DATABASE_URL``: e.g. ``mysql://root@127.0.0.1:3306/zeeguu``; SQLite (``db.sqlite3``) when unset.
- ``DATABASE_REPLICA_URL``: optional read replica for the read-only API (``gamification/replicas.py``).
- ``REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0``; shared cache (and so shared throttles) when set.
- ``ALLOWED_HOSTS``: comma-separated; defaults to local names only.
- ``THROTTLING``: ``off`` disables rate limits (test rigs, load tests).
- ``TRUSTED_PROXIES``: how many reverse proxies in front of the app append to ``X-Forwarded-For``
  (default 0: the header is ignored and clients are known by ``REMOTE_ADDR``).
- ``HTTPS``: behind a TLS-terminating proxy: secure cookies, HSTS, redirects to https.
- ``LOG_FORMAT``: ``json`` for one JSON object a line; plain text otherwise.
- ``TOKEN_TTL``: how long an API token lives unused (seconds, ``30d``, ``12h``, ``P30D``); 30 days.
- ``DATABASE_CONNECT_TIMEOUT``, ``REDIS_TIMEOUT``, ``CELERY_BROKER_URL``: see "Faults" below.
- ``ZEEGUU_COMPAT_PREFIX``, ``ZEEGUU_SESSION_INTROSPECTION_URL``: the Zeeguu-compatible paths
  (docs/zeeguu.md); ``CORS_ALLOWED_ORIGINS``: browser origins allowed to call /api/ and them.
"""

import datetime as dt
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from gamification.durations import duration_parse

BASE_DIR = Path(__file__).resolve().parent.parent

TRUTHY = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in TRUTHY


DEBUG = env_flag("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development).")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()
]

INSTALLED_APPS = [
    # First: its createsuperuser (through the sign-up service) replaces django.contrib.auth's.
    "gamification",
    # The admin with this product's name and index (zeeguu_site/admin_site.py).
    "zeeguu_site.admin_site.ZeeguuAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # Unused since API tokens moved to knox; kept installed only so that the migration which
    # converts its tokens (gamification 0009) can read them on upgrade. Its table is empty after it.
    "rest_framework.authtoken",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "waffle",
    "csp",
    "axes",
    "corsheaders",
]

MIDDLEWARE = [
    # Outermost: logs every request once, with the status the client finally got.
    "gamification.middleware.RequestLogMiddleware",
    # Next: answers preflight requests and adds its headers to every answer, errors included.
    "corsheaders.middleware.CorsMiddleware",
    # Before anything reads the path: //my_badges and friends reach their views (docs/zeeguu.md).
    "gamification.zeeguu.middleware.CollapseSlashesMiddleware",
    "gamification.middleware.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gamification.middleware.CommonMiddlewareWithoutApiSlashRedirect",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "waffle.middleware.WaffleMiddleware",
    "csp.middleware.CSPMiddleware",
    # Read replicas (only with DATABASE_REPLICA_URL): which requests may read from the replica.
    "gamification.replicas.ReplicaReadsMiddleware",
    # Faults (SPEC §14): a lost database is a 503 with Retry-After, not a 500.
    "gamification.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during authentication into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "zeeguu_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "zeeguu_site.wsgi.application"


# Faults (SPEC §14) -----------------------------------------------------------------------------
# Seconds to wait for MariaDB to accept a connection (a persistent connection that broke is
# replaced on the next request: CONN_MAX_AGE with CONN_HEALTH_CHECKS, below).
DATABASE_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "3"))
# Seconds to wait for Redis to connect and to answer; past it the cache fails open.
REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.5"))
# The task queue's broker; /readyz checks it when set.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip()


# Databases -----------------------------------------------------------------------------------
# SQLite: IMMEDIATE transactions, WAL and a busy timeout, or concurrent writers die with
# "database is locked". They apply however SQLite is chosen (no DATABASE_URL, or
# DATABASE_URL=sqlite:///path). MariaDB: utf8mb4, strict mode, READ COMMITTED.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}


def database_from_env(variable: str = "DATABASE_URL") -> dict:
    url = os.environ.get(variable, "").strip()
    if not url:
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    else:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {**config.get("OPTIONS", {}), **SQLITE_OPTIONS}
    elif config["ENGINE"] == "django.db.backends.mysql":
        config["OPTIONS"] = {
            # Faults (SPEC §14): a dead database host fails a connect within seconds.
            "connect_timeout": DATABASE_CONNECT_TIMEOUT,
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', innodb_lock_wait_timeout=20",
            "isolation_level": "read committed",
        }
        config["TEST"] = {
            "NAME": os.environ.get("TEST_DATABASE_NAME", "test_zeeguu"),
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
        }
    return config


DATABASES = {"default": database_from_env()}
# Optional read replica (gamification/replicas.py): read-only API requests read from it, except
# for clients pinned to the primary for DATABASE_REPLICA_PIN_SECONDS after they wrote.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "").strip()
DATABASE_REPLICA_ALIAS = "replica" if DATABASE_REPLICA_URL else None
DATABASE_REPLICA_PIN_SECONDS = float(os.environ.get("DATABASE_REPLICA_PIN_SECONDS", "5"))
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {**database_from_env("DATABASE_REPLICA_URL"), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["gamification.replicas.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# Cache: Redis when configured so that throttles hold across worker processes ---------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            # Faults (SPEC §14): Redis unreachable → caches miss and throttles fail open.
            "BACKEND": "gamification.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "zeeguu"),
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


# Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "gamification.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Uploaded badge icons. Several app hosts: MEDIA_ROOT on a volume they all mount (NFS, a
# shared disk), or MEDIA_STORAGE_BACKEND naming another Django storage class (e.g. an object
# store's, installed separately) configured through its own settings.
STORAGES = {
    "default": {"BACKEND": os.environ.get("MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve files straight from the apps' static folders when collectstatic has not run (tests,
# `make run`); production runs collectstatic and gets hashed, compressed files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
HTTPS = env_flag("HTTPS")
if HTTPS:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Content-Security-Policy (django-csp) on every answer. The admin and the API docs load scripts
# from this site only (the docs' start-up script is a file of its own, see views/docs.py); the
# admin and Swagger UI set inline style attributes, and Swagger UI draws icons from data: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Client addresses and admin login lockout --------------------------------------------------
# Rate limits and the admin lockout know a client by gamification.client_address.
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
AUTHENTICATION_BACKENDS = [
    # Refuses logins while an account or address is locked out (admin only, see below).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Staff login at /admin/login/: locked after AXES_FAILURE_LIMIT failures per account (the email,
# ignoring case) or per address, for AXES_COOLOFF_MINUTES; staff see and lift lockouts under
# "Axes" in the admin. API logins are limited by the "auth" rate instead.
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "gamification.client_address.axes_username"
AXES_CLIENT_IP_CALLABLE = "gamification.client_address.axes_client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429

# Request bodies: a 500-event batch is well under 1 MB; uploads are limited separately.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


# REST framework -------------------------------------------------------------------------------
THROTTLING_ENABLED = os.environ.get("THROTTLING", "on").strip().lower() not in {"off", "0", "false"}

REST_FRAMEWORK = {
    # Token first: unauthenticated requests then get 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gamification.authentication.ClientTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        # orjson, same bytes as DRF's JSONRenderer (gamification.renderers).
        "gamification.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["gamification.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "gamification.views.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "gamification.views.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("THROTTLE_AUTH", "20/min"),
        "search": os.environ.get("THROTTLE_SEARCH", "60/min"),
        "friend_requests": os.environ.get("THROTTLE_FRIEND_REQUESTS", "30/min"),
        "events": os.environ.get("THROTTLE_EVENTS", "600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles use gamification.client_address; DRF's own lookups follow the same rule.
    "NUM_PROXIES": TRUSTED_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Zeeguu gamification API",
    "DESCRIPTION": (
        "Friends, streaks, badges and leaderboards for Zeeguu learners. "
        "Authenticate with `Authorization: Token <key>` (from register or login)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["gamification.views.schema.postprocess_request_strings"],
}


# API tokens (SPEC §5) -------------------------------------------------------------------------
# One token per client (django-rest-knox): the database keeps a SHA-512 digest (and, as knox
# does, the first 15 of the key's 64 characters), never the key.
# A token expires TOKEN_TTL after it was last renewed; use renews it, at most once an hour.
def env_duration(name: str, default: str) -> dt.timedelta:
    try:
        return duration_parse(os.environ.get(name, default))
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None


TOKEN_TTL = env_duration("TOKEN_TTL", "30d")
TOKEN_REFRESH_INTERVAL = dt.timedelta(hours=1)
# Live tokens per user; issuing one more ends that user's oldest (a client that never logs out
# cannot pile up rows).
TOKEN_MAX_PER_USER = 100
# The token model is ours (gamification.ClientToken: knox's abstract token plus the client's
# name). knox's own migrations would only create a table for its swapped-out model: skip them.
KNOX_TOKEN_MODEL = "gamification.ClientToken"  # noqa: S105  (a model name, not a secret)
MIGRATION_MODULES = {"knox": None}
# The same rules for knox's own code (header parsing, its token manager); our services read the
# settings above.
REST_KNOX = {
    "TOKEN_TTL": TOKEN_TTL,
    "AUTO_REFRESH": True,
    "MIN_REFRESH_INTERVAL": int(TOKEN_REFRESH_INTERVAL.total_seconds()),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTH_TOKEN_CHARACTER_LENGTH": 64,
    "TOKEN_LIMIT_PER_USER": None,
}


# Zeeguu-compatible API (SPEC §12, docs/zeeguu.md) ------------------------------------------------
# The path segment(s) under which the Zeeguu web frontend's calls are served: /zeeguu/my_friends.
COMPAT_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*")
RESERVED_PREFIXES = {"api", "admin", "static", "media", "healthz", "readyz"}


def compat_prefix_from_env() -> str:
    prefix = os.environ.get("ZEEGUU_COMPAT_PREFIX", "zeeguu").strip().strip("/")
    if not COMPAT_PREFIX_PATTERN.fullmatch(prefix) or prefix.split("/")[0] in RESERVED_PREFIXES:
        raise ImproperlyConfigured(
            f"ZEEGUU_COMPAT_PREFIX: {prefix!r} is not a usable path prefix (letters, digits, '._~-' "
            f"segments; not one of {', '.join(sorted(RESERVED_PREFIXES))})."
        )
    return prefix


ZEEGUU_COMPAT_PREFIX = compat_prefix_from_env()
# Session values that are not tokens of this service are checked with the platform at this URL
# (GET <url>?session=<value>; the protocol is in docs/zeeguu.md). Unset: only our tokens count.
ZEEGUU_SESSION_INTROSPECTION_URL = os.environ.get("ZEEGUU_SESSION_INTROSPECTION_URL", "").strip()
if ZEEGUU_SESSION_INTROSPECTION_URL and not re.match(r"https?://[^/?#]+", ZEEGUU_SESSION_INTROSPECTION_URL):
    raise ImproperlyConfigured("ZEEGUU_SESSION_INTROSPECTION_URL must be an http:// or https:// URL.")
# Seconds the platform has to answer as a whole (connect, headers, body); past it: 503.
ZEEGUU_SESSION_INTROSPECTION_TIMEOUT = float(os.environ.get("ZEEGUU_SESSION_INTROSPECTION_TIMEOUT", "2"))
# How long the platform's answer is kept (the Django cache): a known session, an unknown one.
ZEEGUU_SESSION_CACHE_SECONDS = 60
ZEEGUU_SESSION_UNKNOWN_CACHE_SECONDS = 10
# The cookie upstream reads after the query parameter, and sets at login.
ZEEGUU_SESSION_COOKIE = "chocolatechip"

# CORS (django-cors-headers): these origins may call /api/ and the Zeeguu-compatible paths from a
# browser, credentials allowed; no other origin, no other path.
CORS_ALLOWED_ORIGINS = [
    origin.strip().rstrip("/") for origin in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if origin.strip()
]
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = rf"^/(api|{re.escape(ZEEGUU_COMPAT_PREFIX)})/"


# Feature flag ---------------------------------------------------------------------------------
WAFFLE_CREATE_MISSING_FLAGS = False
WAFFLE_FLAG_DEFAULT = False


# Gamification rules ---------------------------------------------------------------------------
# Practice needed on one local day, in one language, for the day to count towards a streak.
STREAK_MIN_SECONDS_PER_DAY = int(os.environ.get("STREAK_MIN_SECONDS_PER_DAY", "120"))
# Streak freezes: one earned on every this many counted days of a run, at most this many held.
STREAK_FREEZE_EVERY_DAYS = int(os.environ.get("STREAK_FREEZE_EVERY_DAYS", "7"))
STREAK_FREEZES_MAX = int(os.environ.get("STREAK_FREEZES_MAX", "2"))
# Rest days: at most this many in one calendar month, booked at most this many days ahead.
REST_DAYS_PER_MONTH = int(os.environ.get("REST_DAYS_PER_MONTH", "14"))
REST_DAYS_BOOKING_HORIZON_DAYS = int(os.environ.get("REST_DAYS_BOOKING_HORIZON_DAYS", "365"))
# Uploaded badge icons (PNG, JPEG, WebP).
BADGE_ICON_MAX_BYTES = int(os.environ.get("BADGE_ICON_MAX_BYTES", str(512 * 1024)))

# Outbound events (SPEC §11.3) and the worker (SPEC §15) --------------------------------------
# Absolute URL of this site (e.g. https://gamification.example.org): webhook payloads carry
# absolute badge icon URLs with it; without it they are site-relative paths.
SITE_URL = os.environ.get("SITE_URL", "").strip().rstrip("/")
# Seconds a receiver may take to accept the connection, and then to answer; past it the attempt
# is a timeout, retried later.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
# Retries: the first after WEBHOOK_RETRY_BASE_SECONDS, then doubling, each at most
# WEBHOOK_RETRY_MAX_DELAY_SECONDS, until WEBHOOK_RETRY_WINDOW after the event; then failed.
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "10"))
WEBHOOK_RETRY_MAX_DELAY_SECONDS = float(os.environ.get("WEBHOOK_RETRY_MAX_DELAY_SECONDS", "3600"))
WEBHOOK_RETRY_WINDOW = env_duration("WEBHOOK_RETRY_WINDOW", "24h")
# Delivered and failed deliveries (with their attempts) are deleted this long after the event.
WEBHOOK_RETENTION = env_duration("WEBHOOK_RETENTION", "30d")
# streak.at_risk is sent once per user, language and local day, from this local time (HH:MM) on,
# while the streak is above 0 and the day does not count yet.
WEBHOOK_STREAK_AT_RISK_TIME = os.environ.get("WEBHOOK_STREAK_AT_RISK_TIME", "19:00").strip()
try:
    dt.time.fromisoformat(WEBHOOK_STREAK_AT_RISK_TIME)
except ValueError:
    raise ImproperlyConfigured("WEBHOOK_STREAK_AT_RISK_TIME: a local time such as 19:00") from None
# How long processes may serve the list of subscribed endpoints from the cache (Redis when
# REDIS_URL is set; changes made through the services clear it at once).
WEBHOOK_SUBSCRIBERS_CACHE_SECONDS = float(os.environ.get("WEBHOOK_SUBSCRIBERS_CACHE_SECONDS", "10"))
# run_worker (database-backed): how often it looks for due deliveries, and how many endpoints it
# sends to at once (one thread each).
WORKER_POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "1"))
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "4"))
# Under Celery beat, how often due deliveries (retries) are swept.
WORKER_SWEEP_SECONDS = float(os.environ.get("WORKER_SWEEP_SECONDS", "5"))
# Queued ingestion (POST /api/events/ with Prefer: respond-async): batches applied per
# transaction, and how often run_worker looks for waiting ones (Celery is signalled at once).
QUEUED_EVENTS_APPLY_BATCHES = int(os.environ.get("QUEUED_EVENTS_APPLY_BATCHES", "50"))
QUEUED_EVENTS_POLL_SECONDS = float(os.environ.get("QUEUED_EVENTS_POLL_SECONDS", "0.5"))
# Background tasks started in the admin (award_badges, rebuild_metrics): a running one whose
# progress heartbeat is older than this is taken to have lost its worker and is started again.
TASK_RUN_STALE_SECONDS = int(os.environ.get("TASK_RUN_STALE_SECONDS", "600"))

# Celery (when CELERY_BROKER_URL is set): deliveries are handed to it right after the commit;
# the periodic jobs (gamification.worker.PERIODIC_JOBS) run from its beat.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "gamification")
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "2"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: bound a publish from a request (a broker outage must not hold requests).
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": max(REDIS_TIMEOUT, 1.0),
    "max_retries": 0,
    # Redis: a task taken by a worker that died unacknowledged is handed out again after this
    # many seconds (RabbitMQ does it as soon as the connection drops).
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600")),
}
# The schedule's jobs are idempotent and interval-based: nothing to persist between starts.
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


# Logging --------------------------------------------------------------------------------------
# One line per request (gamification.middleware.RequestLogMiddleware, logger
# "gamification.request") and one per error (Django's "django.request" at ERROR, with the
# traceback), on stderr, each printed once: Django's own handlers are dropped and everything
# propagates to the root logger. LOG_FORMAT=json prints one JSON object a line.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "gamification.logging.JsonLineFormatter"},
    },
    "filters": {"exceptions_only": {"()": "gamification.logging.ExceptionsOnly"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "text"},
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Django configures handlers of its own on these; replaced by propagation to the root.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # 4xx and answered 5xx (a 503) are already in the request line; uncaught errors keep
        # their traceback.
        "django.request": {"handlers": [], "level": "ERROR", "propagate": True, "filters": ["exceptions_only"]},
        # runserver's own access log would repeat the request line.
        "django.server": {"handlers": [], "level": "ERROR", "propagate": True},
        # Scanners' requests for other hosts: the request line (400) is enough.
        "django.security.DisallowedHost": {"handlers": [], "level": "CRITICAL", "propagate": True},
        "django.db.backends": {"handlers": [], "level": "INFO", "propagate": True},
        # django-axes logs every failed admin login at INFO (the request line has them); its
        # lockout warnings still show.
        "axes": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
