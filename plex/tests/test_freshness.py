"""What keeps a cached answer true, without the listener itself: its status and the
generations it moves on, as plex/freshness.py reads them, through the API on real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.test import Client

from plex.cache import PlexCache
from plex.models import ServiceConfig
from plex.services import freshness_for

API = "/api/v1/plex/"
SECTION_1 = f"{API}libraries/1/items?limit=5"
SECTION_3 = f"{API}libraries/3/items?limit=5"


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the cache's clock on by some seconds (what waiting would do)."""
    offset = [0.0]
    monkeypatch.setattr(PlexCache, "clock", staticmethod(lambda: time.time() + offset[0]))

    def move(seconds: float) -> None:
        offset[0] += seconds

    return move


@pytest.mark.django_db
def test_without_a_listener_the_seed_ttls_apply(
    friend_client: Client, later: Callable[[float], None], settings: Any
) -> None:
    settings.PLEX_CACHE_TTL_LIVE = 3600
    assert friend_client.get(SECTION_1)["X-Cache"] == "MISS"

    later(settings.PLEX_CACHE_TTL_ITEMS + 1)

    assert friend_client.get(SECTION_1)["X-Cache"] == "MISS"


@pytest.mark.django_db
def test_while_the_listener_is_live_answers_live_longer_and_end_when_it_goes(
    friend_client: Client, config: ServiceConfig, later: Callable[[float], None], settings: Any
) -> None:
    settings.PLEX_CACHE_TTL_LIVE = 3600
    freshness = freshness_for(config)
    freshness.report("live", "s1", time.time())

    first = friend_client.get(SECTION_1)
    later(settings.PLEX_CACHE_TTL_ITEMS + 1)  # past the seed's TTL, well within the live one
    freshness.report("live", "s1", time.time())  # the listener's heartbeat
    again = friend_client.get(SECTION_1)
    freshness.report("reconnecting", "s1", time.time())
    after = friend_client.get(SECTION_1)

    assert (first["X-Cache"], again["X-Cache"]) == ("MISS", "HIT")
    # Disconnected: what it vouched for is out of reach at once, whatever its TTL.
    assert after["X-Cache"] == "MISS"
    assert freshness.status().state == "reconnecting"


@pytest.mark.django_db
def test_a_change_in_one_section_leaves_the_others_pages_warm(
    friend_client: Client, config: ServiceConfig
) -> None:
    freshness = freshness_for(config)
    freshness.report("live", "s1", time.time())
    for url in (SECTION_1, SECTION_3, f"{API}recently-added"):
        friend_client.get(url)

    freshness.changed("1", listed=True)

    assert friend_client.get(SECTION_1)["X-Cache"] == "MISS"
    assert friend_client.get(f"{API}recently-added")["X-Cache"] == "MISS"
    assert friend_client.get(SECTION_3)["X-Cache"] == "HIT"


@pytest.mark.django_db
def test_a_listener_that_dies_without_a_word_stops_vouching_when_its_status_expires(
    friend_client: Client, config: ServiceConfig, redis_client: redis.Redis
) -> None:
    freshness = freshness_for(config)
    freshness.report("live", "s1", time.time())
    assert friend_client.get(SECTION_1)["X-Cache"] == "MISS"
    # What STATUS_TTL seconds of silence do, without waiting for them.
    for key in redis_client.keys("*events:status*"):
        redis_client.delete(key)

    assert freshness.status().state == "off"
    assert friend_client.get(SECTION_1)["X-Cache"] == "MISS"


@pytest.mark.django_db
def test_a_warm_answer_is_one_round_trip_to_the_cache(
    friend: Any, config: ServiceConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plex.services import PlexService

    PlexService.for_user(friend).library_items("1", 0, 5)  # cached now
    # Counted at Redis itself: the cache reads through django-redis's own client (plex/cache.py).
    calls: list[str] = []
    real = redis.Redis.execute_command

    def counted(self: redis.Redis, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)

    result = PlexService.for_user(friend).library_items("1", 0, 5)

    assert result.state == "HIT"
    assert calls == ["MGET"]  # the stamp and the answer together
