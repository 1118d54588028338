"""Live freshness end to end: the listener reads the emulator's notification stream with the
owner's token, and a friend's cached answers follow what happens on the server within
seconds, while everything else stays warm. Real sockets, real Redis, the real stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from plex.events import Listener
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


@pytest.fixture
def live(config: ServiceConfig, emulator: Emulator, settings: Any) -> Iterator[Listener]:
    """The listener, connected, with the owner's token on the server's configuration."""
    settings.PLEX_CACHE_TTL_LIVE = 3600
    config.owner_token = emulator.owner_token
    config.save()
    stop = threading.Event()
    listener = Listener()
    thread = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    thread.start()
    try:
        eventually(lambda: freshness_for(config).status().state == "live", within=10)
        yield listener
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the listener did not stop"


def get(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response


@pytest.mark.django_db(transaction=True)
def test_an_added_movie_shows_within_seconds_and_a_removed_one_goes_other_pages_stay_warm(
    live: Listener, friend_client: Client, emulator: Emulator
) -> None:
    other = f"{API}libraries/3/items?limit=5"
    total = get(friend_client, f"{API}libraries/1/items", limit=1).json()["totalSize"]
    get(friend_client, f"{API}recently-added")
    get(friend_client, other)

    key = emulator.add_movie("1", "A Film Added Just Now", 2026)
    try:

        def shown() -> bool:
            """the new movie first in recently added, and counted in its library"""
            recent = get(friend_client, f"{API}recently-added").json()
            page = get(friend_client, f"{API}libraries/1/items", limit=1).json()
            return recent[0]["ratingKey"] == key and page["totalSize"] == total + 1

        eventually(shown)
        assert get(friend_client, other)["X-Cache"] == "HIT"
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

    emulator.play("friend", movie, 600_000, "stopped")

    def played() -> bool:
        """the friend's item with its new resume point"""
        return get(friend_client, f"{API}items/{movie}").json()["viewOffset"] == 600_000

    eventually(played)
    assert get(friend_client, other)["X-Cache"] == "HIT"


@pytest.mark.django_db(transaction=True)
def test_a_stopped_listener_says_off_and_the_seed_ttls_apply(
    config: ServiceConfig, emulator: Emulator, friend_client: Client, settings: Any
) -> None:
    settings.PLEX_CACHE_TTL_LIVE = 3600
    config.owner_token = emulator.owner_token
    config.save()
    stop = threading.Event()
    listener = Listener()
    thread = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    thread.start()
    eventually(lambda: freshness_for(config).status().state == "live", within=10)
    get(friend_client, f"{API}libraries/1/items", limit=5)

    stop.set()
    thread.join(timeout=10)

    assert freshness_for(config).status().state == "off"
    assert get(friend_client, f"{API}libraries/1/items", limit=5)["X-Cache"] == "MISS"
    # The emulator notices the closed connection when it next writes (a ping).
    eventually(lambda: emulator.events_connected() == 0, within=10)
