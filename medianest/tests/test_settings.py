"""Start-up refuses unusable settings with a message naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'],"
    " settings.DEBUG)"
)


def start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    }
    return subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "medianest.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_run_on_a_fresh_machine() -> None:
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_urls_select_postgresql_and_redis() -> None:
    result = start(DATABASE_URL="postgres://u@db:5432/medianest", REDIS_URL="redis://cache:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == [
        "django.db.backends.postgresql",
        "django_redis.cache.RedisCache",
    ]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://u:pw@db/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "memcached://cache"}, "REDIS_URL"),
        ({"PLEX_BREAKER_FAIL_MAX": "five"}, "PLEX_BREAKER_FAIL_MAX"),
        ({"PLEX_BREAKER_RESET_TIMEOUT": "0"}, "PLEX_BREAKER_RESET_TIMEOUT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"MEDIANEST_URL": "nas.local:8000"}, "MEDIANEST_URL"),
        ({"MEDIANEST_URL": "http://nas.local/medianest/"}, "MEDIANEST_URL"),
        ({"MEDIANEST_URL": "http://nas.local:99999"}, "MEDIANEST_URL"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env: dict[str, str], variable: str) -> None:
    result = start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.strip().splitlines()[-1]


def test_a_password_in_a_bad_url_is_not_echoed() -> None:
    result = start(DATABASE_URL="mysql://u:hunter2@db/x")
    assert "hunter2" not in result.stderr


SHOWN_SETTINGS = [
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
]
_ENV_SET_BY_TESTS = {
    "DEBUG",
    "SECURE_COOKIES",
    "MEDIANEST_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "BEHIND_HTTPS_PROXY",
}


def setting_values(**env: str) -> dict[str, object]:
    """The settings MediaNest starts with under this environment (a fresh process)."""
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {SHOWN_SETTINGS!r}}}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in _ENV_SET_BY_TESTS}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "medianest.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cookies_are_secure_in_production_unless_turned_off() -> None:
    production = {"DEBUG": "0", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "media.example.com"}
    assert setting_values(**production)["SESSION_COOKIE_SECURE"] is True
    assert setting_values(**production)["CSRF_COOKIE_SECURE"] is True
    assert setting_values(**production, SECURE_COOKIES="0")["SESSION_COOKIE_SECURE"] is False
    assert setting_values()["SESSION_COOKIE_SECURE"] is False  # DEBUG on: the demo over http


@pytest.mark.parametrize("variable", ["PLEX_TV_URL", "PLEX_AUTH_URL"])
def test_plex_sign_in_urls_must_be_web_urls(variable: str) -> None:
    result = start(**{variable: "javascript:alert(1)"})
    assert result.returncode != 0
    assert variable in result.stderr
