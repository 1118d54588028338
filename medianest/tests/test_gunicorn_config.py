"""gunicorn.conf.py: values from the environment, refused by name when unusable, and the app safe
to preload (importing it in gunicorn's master opens nothing a forked worker would share)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = ROOT / "gunicorn.conf.py"


def run_probe(probe: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`probe` run by a fresh Python in the repository, as gunicorn's master would import."""
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "WEB_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_BIND"):
        # Set, then removed: monkeypatch then puts back what was there before, and removes
        # what the file itself sets (WEB_THREADS) afterwards.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_the_defaults_are_two_gthread_workers_of_eight_threads_preloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = config(monkeypatch)

    assert (values["worker_class"], values["workers"], values["threads"]) == ("gthread", 2, 8)
    assert values["preload_app"] is True
    assert values["bind"] == "0.0.0.0:8000"
    assert values["graceful_timeout"] < 10  # inside docker stop's 10 s
    # The app sizes its Plex concurrency and database pool from the threads it runs with.
    assert os.environ["WEB_THREADS"] == "8"


def test_workers_and_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = config(monkeypatch, WEB_CONCURRENCY="3", WEB_THREADS="4", GUNICORN_TIMEOUT="45")

    assert (values["workers"], values["threads"], values["timeout"]) == (3, 4, 45)


@pytest.mark.parametrize("value", ["0", "two", "²", "-1"])
def test_an_unusable_value_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        config(monkeypatch, WEB_CONCURRENCY=value)


def test_importing_the_app_opens_no_connection_and_starts_no_thread(tmp_path: Path) -> None:
    """preload_app imports medianest.wsgi in gunicorn's master, then forks the workers: a
    database or Redis connection made during the import would be one socket shared by every
    worker, a thread would not exist in them at all."""
    probe = """
import socket, threading
connects = []
real = socket.socket.connect
def connect(self, address):
    connects.append(address)
    return real(self, address)
socket.socket.connect = connect
threads = threading.active_count()
import medianest.wsgi
assert connects == [], connects
assert threading.active_count() == threads, threading.enumerate()
print("clean")
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "medianest.settings",
        "DEBUG": "1",  # no collected static files needed
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    result = run_probe(probe, env)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "clean"


def test_the_master_imports_the_views_and_compiles_the_pages_before_forking(
    tmp_path: Path,
) -> None:
    """A worker forked from the preloaded master (at start, or replacing one that died) finds
    the URLconf's views imported and the pages' templates compiled: it answers in about the
    time a hello-world worker does (bench/cold_start.py), not after a quarter second of
    imports on its first request."""
    probe = """
import sys
import medianest.wsgi
from django.template import engines
loader = engines["django"].engine.template_loaders[0]
assert "plex.pages.views" in sys.modules and "plex.api.views" in sys.modules
assert any(name.startswith("pages/library.html") for name in loader.get_template_cache), list(
    loader.get_template_cache
)
print("warm")
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "medianest.settings",
        "DEBUG": "0",
        "SECRET_KEY": "warm-up-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("REDIS_URL", None)
    static = tmp_path / "static"
    static.mkdir()
    (static / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": ""}')
    result = run_probe(probe, env)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "warm"
