"""Live freshness end to end: the listener reads the emulator's notification stream with the
owner's token, and a friend's cached answers follow what happens on the server within
seconds, while everything else stays warm. Real sockets, real Redis, the real stream."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client

from harness.stack import ROOT, manage, prepare_site
from plex.events import LEASE_TTL, Listener
from plex.freshness import STATUS_TTL
from plex.models import ServiceConfig
from plex.services import freshness_for
from plex_emulator import Emulator

API = "/api/v1/plex/"
WITHIN = 3.0  # seconds, the promise


def eventually(check: Callable[[], Any], within: float = WITHIN) -> Any:
    """`check()`'s first true answer within `within` seconds, or the test fails."""
    ends = time.monotonic() + within
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > ends:
            raise AssertionError(f"not within {within} s: {check.__doc__ or check}")
        time.sleep(0.05)


@dataclass
class Running:
    listener: Listener
    stop: threading.Event
    thread: threading.Thread

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the listener did not stop"


def start_listener(config: ServiceConfig, emulator: Emulator, settings: Any) -> Running:
    """The listener in a thread, connected, with the owner's token on the configuration."""
    settings.PLEX_CACHE_TTL_LIVE = 3600
    config.owner_token = emulator.owner_token
    config.save()
    running = Running(Listener(), threading.Event(), threading.Thread())
    running.thread = threading.Thread(
        target=running.listener.run, args=(running.stop,), daemon=True
    )
    running.thread.start()
    eventually(lambda: freshness_for(config).status().state == "live", within=10)
    return running


@pytest.fixture
def live(config: ServiceConfig, emulator: Emulator, settings: Any) -> Iterator[Listener]:
    running = start_listener(config, emulator, settings)
    try:
        yield running.listener
    finally:
        running.end()


def get(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response


@pytest.mark.django_db(transaction=True)
def test_an_added_movie_shows_within_seconds_and_a_removed_one_goes_other_pages_stay_warm(
    live: Listener, friend_client: Client, emulator: Emulator
) -> None:
    other = f"{API}libraries/3/items?limit=5"
    existing = f"{API}items/{emulator.library.sections['1'].items[0]['ratingKey']}"
    total = get(friend_client, f"{API}libraries/1/items", limit=1).json()["totalSize"]
    get(friend_client, f"{API}recently-added")
    get(friend_client, other)
    get(friend_client, existing)

    key = emulator.add_movie("1", "A Film Added Just Now", 2026)
    try:

        def shown() -> bool:
            """the new movie first in recently added, and counted in its library"""
            recent = get(friend_client, f"{API}recently-added").json()
            page = get(friend_client, f"{API}libraries/1/items", limit=1).json()
            return recent[0]["ratingKey"] == key and page["totalSize"] == total + 1

        eventually(shown)
        assert get(friend_client, other)["X-Cache"] == "HIT"
        assert get(friend_client, existing)["X-Cache"] == "HIT"  # another movie's details
    finally:
        emulator.remove_item(key)

    def gone() -> bool:
        """the removed movie out of recently added and of its library's count"""
        recent = get(friend_client, f"{API}recently-added").json()
        page = get(friend_client, f"{API}libraries/1/items", limit=1).json()
        return key not in [i["ratingKey"] for i in recent] and page["totalSize"] == total

    eventually(gone)
    assert friend_client.get(f"{API}items/{key}").status_code == 404
    assert get(friend_client, other)["X-Cache"] == "HIT"


@pytest.mark.django_db(transaction=True)
def test_the_friends_play_shows_its_progress_within_seconds(
    live: Listener, friend_client: Client, emulator: Emulator
) -> None:
    movie = next(
        item["ratingKey"]
        for item in emulator.library.sections["1"].items
        if not emulator.watch_state("friend", item["ratingKey"])
    )
    assert get(friend_client, f"{API}items/{movie}").json()["viewOffset"] is None
    other = f"{API}libraries/3/items?limit=5"
    get(friend_client, other)
    get(friend_client, f"{API}recently-added")

    emulator.play("friend", movie, 600_000, "stopped")

    def played() -> bool:
        """the friend's item with its new resume point"""
        return get(friend_client, f"{API}items/{movie}").json()["viewOffset"] == 600_000

    eventually(played)
    assert get(friend_client, other)["X-Cache"] == "HIT"
    # A play changes no list across sections: recently added stays warm.
    assert get(friend_client, f"{API}recently-added")["X-Cache"] == "HIT"


@pytest.mark.django_db(transaction=True)
def test_a_stopped_listener_says_off_and_the_seed_ttls_apply(
    config: ServiceConfig, emulator: Emulator, friend_client: Client, settings: Any
) -> None:
    running = start_listener(config, emulator, settings)
    get(friend_client, f"{API}libraries/1/items", limit=5)

    running.end()

    assert freshness_for(config).status().state == "off"
    assert get(friend_client, f"{API}libraries/1/items", limit=5)["X-Cache"] == "MISS"
    # The emulator notices the closed connection when it next writes (a ping).
    eventually(lambda: emulator.events_connected() == 0, within=10)


# -- one listener for the deployment ----------------------------------------------------------


def _listener_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "plex_events"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _status(redis_client: redis.Redis) -> dict[str, Any] | None:
    """The listener's status as the app stores it (django-redis pickles values, and
    compresses them as configured)."""
    keys = redis_client.keys("*:events:status")
    value = redis_client.get(keys[0]) if keys else None
    if not value:
        return None
    with contextlib.suppress(zlib.error):
        value = zlib.decompress(value)
    return pickle.loads(value)  # noqa: S301 (our own test Redis)


def test_one_listener_holds_the_stream_a_standby_takes_over_when_it_dies_and_none_says_off(
    emulator: Emulator, redis_client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "DEBUG": "1",
        "SECRET_KEY": "live-updates-test-secret-key-0123456789-abcdefghijklmnopqrstuv",
        "PYTHONUNBUFFERED": "1",
    }
    prepare_site(env, emulator_url=emulator.url, username="ann", plex_token=emulator.owner_token)
    manage(env, "plex_configure", "--owner-token", emulator.owner_token)
    first = _listener_process(env, tmp_path / "first.log")
    standby = None
    try:
        eventually(lambda: (_status(redis_client) or {}).get("state") == "live", within=30)
        held = _status(redis_client)
        standby = _listener_process(env, tmp_path / "standby.log")
        time.sleep(3)  # long enough for the standby to have asked for the lease, and lost
        assert emulator.events_connected() == 1
        assert (_status(redis_client) or {}).get("session") == held["session"]

        first.send_signal(signal.SIGKILL)  # no goodbye: its lease and status just expire
        first.wait(timeout=10)

        def taken_over() -> bool:
            """the standby live on a session of its own"""
            status = _status(redis_client) or {}
            return status.get("state") == "live" and status.get("session") != held["session"]

        eventually(taken_over, within=LEASE_TTL + STATUS_TTL + 5)
        standby.send_signal(signal.SIGKILL)
        standby.wait(timeout=10)
        eventually(lambda: _status(redis_client) is None, within=STATUS_TTL + 2)
    finally:
        for process in (first, standby):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
