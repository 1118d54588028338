"""MediaNest settings.

Every value comes from the environment with a default that runs on a fresh machine (SQLite,
local-memory cache, DEBUG on). A value that cannot be used stops start-up with a message that
names the variable. README.md lists them all.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from medianest.env import envbool, envfloat, envint, envlist, envstr, envurl

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

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "plex",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Plex client
PLEX_TIMEOUT = envfloat("PLEX_TIMEOUT", 3.0)
PLEX_BREAKER_FAIL_MAX = envint("PLEX_BREAKER_FAIL_MAX", 5, minimum=1)
PLEX_BREAKER_RESET_TIMEOUT = envint("PLEX_BREAKER_RESET_TIMEOUT", 30, minimum=1)

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
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
