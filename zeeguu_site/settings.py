"""Settings for the Zeeguu gamification service.

Everything that differs between a laptop, CI and production comes from the environment:

- ``DEBUG``: ``1``/``true``/``on`` turns debug mode on (off by default).
- ``SECRET_KEY``: required unless ``DEBUG`` is on.
- ``DATABASE_URL``: e.g. ``mysql://root@127.0.0.1:3306/zeeguu``; SQLite (``db.sqlite3``) when unset.
- ``REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0``; shared cache (and so shared throttles) when set.
- ``ALLOWED_HOSTS``: comma-separated; defaults to local names only.
- ``THROTTLING``: ``off`` disables rate limits (test rigs, load tests).
- ``DATABASE_CONNECT_TIMEOUT``, ``REDIS_TIMEOUT``, ``CELERY_BROKER_URL``: see "Faults" below.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "waffle",
    "gamification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gamification.middleware.CommonMiddlewareWithoutApiSlashRedirect",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "waffle.middleware.WaffleMiddleware",
    # Faults (SPEC §14): a lost database is a 503 with Retry-After, not a 500.
    "gamification.middleware.DatabaseUnavailableMiddleware",
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
# "database is locked" (see shared/PERFORMANCE.md). MariaDB: utf8mb4 and strict mode.
def database_from_env() -> dict:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
            },
        }
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.mysql":
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if env_flag("HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Request bodies: a 500-event batch is well under 1 MB; uploads are limited separately.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


# REST framework -------------------------------------------------------------------------------
THROTTLING_ENABLED = os.environ.get("THROTTLING", "on").strip().lower() not in {"off", "0", "false"}

REST_FRAMEWORK = {
    # Token first: unauthenticated requests then get 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["gamification.views.parsers.StrictJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
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
}


# Feature flag ---------------------------------------------------------------------------------
WAFFLE_CREATE_MISSING_FLAGS = False
WAFFLE_FLAG_DEFAULT = False


# Gamification rules ---------------------------------------------------------------------------
# Practice needed on one local day, in one language, for the day to count towards a streak.
STREAK_MIN_SECONDS_PER_DAY = int(os.environ.get("STREAK_MIN_SECONDS_PER_DAY", "120"))
# Uploaded badge icons (PNG, JPEG, WebP).
BADGE_ICON_MAX_BYTES = int(os.environ.get("BADGE_ICON_MAX_BYTES", str(512 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
