"""MediaNest settings.

Every value comes from the environment with a default that runs on a fresh machine (SQLite,
local-memory cache, DEBUG on). A value that cannot be used stops start-up with a message that
names the variable. README.md lists them all.
"""

from __future__ import annotations

import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from medianest.env import (
    envbool,
    envfloat,
    envint,
    envlist,
    envsiteurls,
    envstr,
    envurl,
    origin_host,
)
from plex.client.http import PRODUCT
from plex.client.session import POOL_MAXSIZE

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", True)

_DEV_SECRET_KEY = "medianest-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = envstr("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set to a long random value when DEBUG is off")
# Old keys, newest first: sessions, signatures and encrypted Plex tokens made with them still work.
SECRET_KEY_FALLBACKS = envlist("SECRET_KEY_FALLBACKS", [])
# Salt for deriving the Fernet keys of encrypted fields (django-fernet-encrypted-fields).
# Not a secret; changing it makes stored tokens unreadable.
SALT_KEY = "medianest-encrypted-fields"

# Where people open MediaNest (MEDIANEST_URL, one URL or several comma-separated): one value
# gives the host names Django answers to, the origins trusted for forms, and whether cookies
# are Secure (only when every URL is https; a browser drops Secure cookies over plain http).
SITE_URLS = envsiteurls("MEDIANEST_URL")
_SITE_IS_HTTPS = bool(SITE_URLS) and all(url.startswith("https://") for url in SITE_URLS)

# Over HTTPS in production. Cookies are Secure unless DEBUG or an http MEDIANEST_URL
# (SECURE_COOKIES overrides both); behind a proxy that ends TLS, BEHIND_HTTPS_PROXY=1 (implied
# by an https MEDIANEST_URL) trusts its X-Forwarded-Proto so Django knows the request was secure.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool(
    "SECURE_COOKIES", _SITE_IS_HTTPS if SITE_URLS else not DEBUG
)
BEHIND_HTTPS_PROXY = envbool("BEHIND_HTTPS_PROXY", any(u.startswith("https://") for u in SITE_URLS))
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A site whose every address is https (behind its TLS proxy) sends plain http to https and
# tells browsers to stay there (HSTS, a year); both are off otherwise, and can be set apart.
_HTTPS_ONLY = _SITE_IS_HTTPS and BEHIND_HTTPS_PROXY
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", _HTTPS_ONLY)
SECURE_REDIRECT_EXEMPT = [r"^healthz"]  # health checks come over plain http from inside
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS_ONLY else 0, minimum=0)
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# Loopback names are always answered: the container's health check and a browser on the same
# machine use them, and they cannot be pointed anywhere else.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = list(
    dict.fromkeys([*LOOPBACK_HOSTS, *map(origin_host, SITE_URLS), *envlist("ALLOWED_HOSTS", [])])
)
CSRF_TRUSTED_ORIGINS = list(dict.fromkeys([*SITE_URLS, *envlist("CSRF_TRUSTED_ORIGINS", [])]))
# A refused host name and a form refused for its CSRF cookie get pages that say what to set.
CSRF_FAILURE_VIEW = "medianest.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "plex",
]

MIDDLEWARE = [
    # Outermost: it adjusts what SecurityMiddleware sets on the way out.
    "medianest.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Bench-only (bench/api_load.py): database statements per request in response headers.
if envbool("MEDIANEST_BENCH_COUNTERS", False):
    MIDDLEWARE.insert(0, "medianest.bench_counters.BenchCountersMiddleware")

ROOT_URLCONF = "medianest.urls"
WSGI_APPLICATION = "medianest.wsgi.application"
ASGI_APPLICATION = "medianest.asgi.application"

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
                "plex.context_processors.vocabulary",
            ],
        },
    },
]

_DATABASE_URL = (
    envurl("DATABASE_URL", {"sqlite", "postgres", "postgresql", "pgsql", "postgis"})
    or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
)
DATABASES = {
    "default": dj_database_url.parse(_DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
# PostgreSQL: each process borrows connections from psycopg's pool for a request and gives
# them back after it, so a process never holds more than DB_POOL_MAX_SIZE connections (by
# default one per gunicorn thread: a thread never waits for one). A pooled connection is taken
# as it is, without the health check's SELECT 1 that persistent connections cost every request;
# after a PostgreSQL restart a broken one fails its request once and is dropped (DB_POOL_CHECK=1
# tests each one when taken, for that round trip). DB_POOL_MAX_SIZE=0: no pool, persistent
# connections checked each request. SQLite: as it was (a file needs no pool).
# gunicorn's threads per process (WEB_THREADS, below); 10 where unknown (runserver, tests).
DB_POOL_MAX_SIZE = envint("DB_POOL_MAX_SIZE", envint("WEB_THREADS", 0, minimum=0) or 10, minimum=0)
_POSTGRES = DATABASES["default"]["ENGINE"].endswith((".postgresql", ".postgis"))
if _POSTGRES and DB_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's rule with a pool: back to it each time
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,  # opened at first use; more as threads ask, closed again when idle
        "max_size": DB_POOL_MAX_SIZE,
        # A thread waits this long for a connection when every one is out, then fails.
        "timeout": 10,
    }
    if envbool("DB_POOL_CHECK", False):
        from psycopg_pool import ConnectionPool

        DATABASES["default"]["OPTIONS"]["pool"]["check"] = ConnectionPool.check_connection

REDIS_URL = envurl("REDIS_URL", {"redis", "rediss", "unix"})
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "medianest",
            "OPTIONS": {
                # A cache that does not answer must not hold a page up.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                # Plex's JSON compresses about 5 to 1 (bench/cache_size.py); values written
                # before this was on still read (django-redis tries, then takes them as they are).
                "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Development serves static files straight from the apps (tests run with DEBUG forced off
# but nothing collected); production from STATIC_ROOT.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves hashed, compressed files from STATIC_ROOT (collectstatic at build).
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Plex client
PLEX_BREAKER_FAIL_MAX = envint("PLEX_BREAKER_FAIL_MAX", 5, minimum=1)
PLEX_BREAKER_RESET_TIMEOUT = envint("PLEX_BREAKER_RESET_TIMEOUT", 30, minimum=1)
# A server set up from plex.tv: how often, at most, MediaNest tests its published connections
# again when the one in use fails (plex/discovery.py). Well under the breaker's reset time, so
# a moved server answers again before the circuit would have tried the dead address anyway.
PLEX_HEAL_INTERVAL = envint("PLEX_HEAL_INTERVAL", 10, minimum=1)

LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_plex_tokens": {"()": "plex.client.redaction.RedactTokensFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_plex_tokens"],
        },
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # A refused host name is logged once, with what to set, by medianest.errors.
    "loggers": {"django.security.DisallowedHost": {"handlers": ["null"], "propagate": False}},
}

# Plex answers in the cache (seconds). Keys are per server and per token (a keyed hash of it).
PLEX_CACHE_TTL_SERVER = envint("PLEX_CACHE_TTL_SERVER", 3600, minimum=0)
PLEX_CACHE_TTL_LIBRARIES = envint("PLEX_CACHE_TTL_LIBRARIES", 300, minimum=0)
PLEX_CACHE_TTL_SEARCH = envint("PLEX_CACHE_TTL_SEARCH", 60, minimum=0)
PLEX_CACHE_TTL_ITEMS = envint("PLEX_CACHE_TTL_ITEMS", 60, minimum=0)
PLEX_CACHE_TTL_IMAGES = envint("PLEX_CACHE_TTL_IMAGES", 86400, minimum=0)
# While the event listener (manage.py plex_events) is connected, answers its events keep true
# may live this long; without it the TTLs above apply.
PLEX_CACHE_TTL_LIVE = envint("PLEX_CACHE_TTL_LIVE", 3600, minimum=0)
# How long the last good copy is kept, to be served while Plex is unavailable.
PLEX_CACHE_STALE_TTL = envint("PLEX_CACHE_STALE_TTL", 86400, minimum=0)
# How many threads of one app process may wait on Plex at once; above that a request gets the
# last good copy or a quick 503, so a slow Plex never takes every thread and cached pages stay
# fast. Default: one thread fewer than gunicorn runs (WEB_THREADS), at most the connection pool.
WEB_THREADS = envint("WEB_THREADS", 0, minimum=0)  # 0: not known (runserver, tests)
PLEX_CONCURRENCY = envint(
    "PLEX_CONCURRENCY",
    min(POOL_MAXSIZE, WEB_THREADS - 1) if WEB_THREADS > 1 else POOL_MAXSIZE,
    minimum=1,
)
# How many requests may be in flight to the Plex server from the whole deployment (every
# process and host sharing REDIS_URL; each process alone while Redis is down). Past it a
# request waits up to the server's timeout for a slot, then gets the last good copy or a 503.
PLEX_MAX_CONNECTIONS = envint("PLEX_MAX_CONNECTIONS", 10, minimum=1)
# Clients for users who stopped browsing are dropped after this many idle seconds.
PLEX_CLIENT_IDLE_SECONDS = envint("PLEX_CLIENT_IDLE_SECONDS", 600, minimum=1)
# Every answer from Plex is read within a size cap and a deadline, however slowly it arrives.
PLEX_IMAGE_MAX_BYTES = envint("PLEX_IMAGE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
PLEX_RESPONSE_DEADLINE = envfloat("PLEX_RESPONSE_DEADLINE", 8.0)

# The JSON API
API_THROTTLE_RATE = envstr("API_THROTTLE_RATE", "1200/min")
# Sign-in attempts per client address: starting "Sign in with Plex", and admin password logins.
SIGNIN_RATE = envstr("SIGNIN_RATE", "30/hour")
for _name, _rate in (("API_THROTTLE_RATE", API_THROTTLE_RATE), ("SIGNIN_RATE", SIGNIN_RATE)):
    if not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(
            f"{_name} must look like 30/hour (per s, min, hour or day); got {_rate!r}"
        )
# How long a process trusts what it read for an API token (its user, whether active): a
# revoked token or a deactivated user stops working within this many seconds everywhere (at
# once in the process that made the change). 0: read on every request.
API_TOKEN_CACHE_SECONDS = envint("API_TOKEN_CACHE_SECONDS", 5, minimum=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # DRF's TokenAuthentication, its user kept for API_TOKEN_CACHE_SECONDS.
        "accounts.authentication.CachedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["plex.api.throttling.PerUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": API_THROTTLE_RATE},
    "DEFAULT_RENDERER_CLASSES": [
        "plex.api.renderers.JSONRenderer",  # DRF's, rendered once per cached answer
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "plex.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MediaNest API",
    "DESCRIPTION": "Browse a Plex Media Server with your own Plex access.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docs assets from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:signin"

# Sign in with Plex. The URLs point at the real plex.tv; the demo and the tests point them at
# the emulator, which plays plex.tv too.
PLEX_TV_URL = (envurl("PLEX_TV_URL", {"http", "https"}) or "https://plex.tv").rstrip("/")
PLEX_AUTH_URL = envurl("PLEX_AUTH_URL", {"http", "https"}) or "https://app.plex.tv/auth"
# A stable id for this installation; generated once and kept in the database when unset.
PLEX_CLIENT_IDENTIFIER = envstr("PLEX_CLIENT_IDENTIFIER", "")
PLEX_PRODUCT = PRODUCT  # X-Plex-Product, one name for the client and plex.tv
