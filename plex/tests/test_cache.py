"""PlexCache on the real Redis with plain loaders: fresh and last-good copies, coalescing,
and a cache that fails without failing anyone."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import caches

from plex.cache import Bulkhead, Cached, PlexCache
from plex.client import PlexAuthError, PlexNotFound, PlexUnavailable
from plex.connections import current
from plex.tests import cached
from plex.tests.concurrency import run_together

KEY = "plex:v1:test-server:test-access:items:abc"


@pytest.fixture
def clock() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def plex_cache(redis_cache: str, clock: list[float]) -> PlexCache:
    cache = PlexCache(stale_ttl=3600, wait=5.0, guard=current().guard)
    cache.clock = lambda: clock[0]
    return cache


class Loader:
    """A loader that counts its calls and returns or raises what it is told."""

    def __init__(self, result: Any = "value", pause: float = 0.0) -> None:
        self.result = result
        self.pause = pause
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        if self.pause:
            time.sleep(self.pause)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


def expire_fresh_copy(key: str = KEY) -> None:
    """What the TTL does, without waiting for it: the last good copy stays."""
    cached.expire_fresh_copy(key)


def test_first_fetch_is_a_miss_from_the_loader_and_the_next_a_hit_with_its_age(
    plex_cache: PlexCache, clock: list[float]
) -> None:
    loader = Loader({"items": [1, 2, 3]})

    first = plex_cache.fetch(KEY, 60, loader)
    clock[0] += 42
    second = plex_cache.fetch(KEY, 60, loader)

    assert (first.state, first.value, first.age) == ("MISS", {"items": [1, 2, 3]}, 0)
    assert (second.state, second.value, second.age) == ("HIT", {"items": [1, 2, 3]}, 42)
    assert loader.calls == 1


def test_an_expired_entry_is_loaded_again_as_a_miss(
    plex_cache: PlexCache, clock: list[float]
) -> None:
    plex_cache.fetch(KEY, 60, Loader("old"))
    expire_fresh_copy()
    clock[0] += 90

    again = plex_cache.fetch(KEY, 60, Loader("new"))

    assert (again.state, again.value, again.age) == ("MISS", "new", 0)
    assert plex_cache.fetch(KEY, 60, Loader("unused")).value == "new"


def test_unavailable_plex_serves_the_last_good_copy_as_stale_with_its_age(
    plex_cache: PlexCache, clock: list[float]
) -> None:
    plex_cache.fetch(KEY, 60, Loader(["good"]))
    expire_fresh_copy()
    clock[0] += 300

    served = plex_cache.fetch(KEY, 60, Loader(PlexUnavailable("Plex is down", retry_after=7)))

    assert served.state == "STALE"
    assert served.stale
    assert served.value == ["good"]
    assert served.age == 300
    assert isinstance(served.error, PlexUnavailable)


def test_a_failure_never_replaces_the_last_good_copy(plex_cache: PlexCache) -> None:
    plex_cache.fetch(KEY, 60, Loader(["good"]))
    expire_fresh_copy()
    failing = Loader(PlexUnavailable("Plex is down"))

    first = plex_cache.fetch(KEY, 60, failing)
    second = plex_cache.fetch(KEY, 60, failing)

    assert [first.state, second.state] == ["STALE", "STALE"]
    assert [first.value, second.value] == [["good"], ["good"]]
    assert failing.calls == 2  # nothing was cached from the failure: Plex is asked each time


def test_plex_coming_back_replaces_the_stale_copy_with_a_fresh_one(
    plex_cache: PlexCache,
) -> None:
    plex_cache.fetch(KEY, 60, Loader("old"))
    expire_fresh_copy()
    assert plex_cache.fetch(KEY, 60, Loader(PlexUnavailable("down"))).state == "STALE"

    recovered = plex_cache.fetch(KEY, 60, Loader("new"))
    expire_fresh_copy()
    stale_again = plex_cache.fetch(KEY, 60, Loader(PlexUnavailable("down")))

    assert (recovered.state, recovered.value) == ("MISS", "new")
    assert (stale_again.state, stale_again.value) == ("STALE", "new")


def test_unavailable_plex_with_nothing_cached_raises(plex_cache: PlexCache) -> None:
    with pytest.raises(PlexUnavailable):
        plex_cache.fetch(KEY, 60, Loader(PlexUnavailable("Plex is down")))


def test_not_found_removes_both_copies_so_a_later_outage_serves_nothing(
    plex_cache: PlexCache,
) -> None:
    plex_cache.fetch(KEY, 60, Loader("was here"))
    expire_fresh_copy()

    with pytest.raises(PlexNotFound):
        plex_cache.fetch(KEY, 60, Loader(PlexNotFound("gone", status=404)))
    with pytest.raises(PlexUnavailable):
        plex_cache.fetch(KEY, 60, Loader(PlexUnavailable("Plex is down")))


def test_not_found_while_a_fresh_copy_exists_is_not_asked_until_it_expires(
    plex_cache: PlexCache,
) -> None:
    plex_cache.fetch(KEY, 60, Loader("cached"))

    hit = plex_cache.fetch(KEY, 60, Loader(PlexNotFound("gone", status=404)))

    assert (hit.state, hit.value) == ("HIT", "cached")


def _counter(plex_cache: PlexCache, key: str) -> int:
    return plex_cache.read_many([key]).get(key, 0)


def test_a_new_generation_asks_plex_again_and_an_outage_still_has_the_last_copy(
    plex_cache: PlexCache,
) -> None:
    # A user marks something watched: their answers are asked anew, but when Plex is down
    # right after, the last good copy (of whichever generation) is still served.
    counter = "plex:v1:test-server:test-access:watch-generation"
    first = plex_cache.fetch(f"{KEY}@g{_counter(plex_cache, counter)}", 60, Loader("before"))
    plex_cache.advance(counter)
    plex_cache.advance(counter)
    newer = f"{KEY}@g{_counter(plex_cache, counter)}"

    asked = plex_cache.fetch(newer, 60, Loader("after"))
    expire_fresh_copy(newer)
    outage = plex_cache.fetch(newer, 60, Loader(PlexUnavailable("down")))

    assert (first.value, _counter(plex_cache, counter)) == ("before", 2)
    assert (asked.state, asked.value) == ("MISS", "after")
    assert (outage.state, outage.value) == ("STALE", "after")


def test_entries_are_separate_per_key(plex_cache: PlexCache) -> None:
    plex_cache.fetch(f"{KEY}:a", 60, Loader("for a"))

    other = plex_cache.fetch(f"{KEY}:b", 60, Loader("for b"))

    assert (other.state, other.value) == ("MISS", "for b")


def test_twenty_concurrent_misses_call_the_loader_once_and_all_get_its_value(
    plex_cache: PlexCache,
) -> None:
    loader = Loader({"page": 1}, pause=0.3)

    results = run_together(lambda _: plex_cache.fetch(KEY, 60, loader))

    assert loader.calls == 1
    assert all(isinstance(result, Cached) for result in results), results
    assert all(result.value == {"page": 1} for result in results)
    assert sorted(result.state for result in results).count("MISS") == 1


def test_waiters_never_ask_plex_again_while_the_leader_stores_its_answer(
    plex_cache: PlexCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow cache write (a busy Redis) between the leader's load and its answer landing must
    # not look like "the leader is gone" to the callers waiting on it.
    # Each thread has its own cache object (Django's caches are per thread): patch the class.
    backend = type(caches["default"])
    real_set = backend.set

    def slow_set(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return real_set(self, *args, **kwargs)

    monkeypatch.setattr(backend, "set", slow_set)
    loader = Loader("page", pause=0.1)

    results = run_together(lambda _: plex_cache.fetch(KEY, 60, loader), count=5)

    assert loader.calls == 1
    assert all(result.value == "page" for result in results)


def test_waiters_get_the_stale_copy_when_the_leader_finds_plex_unavailable(
    plex_cache: PlexCache,
) -> None:
    plex_cache.fetch(KEY, 60, Loader(["good"]))
    expire_fresh_copy()
    failing = Loader(PlexUnavailable("Plex is down"), pause=0.3)

    results = run_together(lambda _: plex_cache.fetch(KEY, 60, failing))

    assert all(isinstance(result, Cached) for result in results), results
    assert {result.state for result in results} == {"STALE"}
    assert all(result.value == ["good"] for result in results)
    assert failing.calls < 20  # the waiters took the leader's word for it


def test_waiters_get_unavailable_when_the_leader_fails_and_nothing_is_cached(
    plex_cache: PlexCache,
) -> None:
    failing = Loader(PlexUnavailable("Plex is down", retry_after=9), pause=0.3)

    results = run_together(lambda _: plex_cache.fetch(KEY, 60, failing))

    assert all(isinstance(result, PlexUnavailable) for result in results), results
    assert failing.calls < 20


def test_waiters_get_not_found_when_the_leader_does(plex_cache: PlexCache) -> None:
    failing = Loader(PlexNotFound("gone", status=404), pause=0.3)

    results = run_together(lambda _: plex_cache.fetch(KEY, 60, failing))

    assert all(isinstance(result, PlexNotFound) for result in results), results


def test_a_dead_redis_still_returns_the_loaders_value_each_time(
    settings, unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    cache = PlexCache(stale_ttl=3600, wait=5.0, guard=current().guard)
    loader = Loader("from plex")

    with caplog.at_level(logging.WARNING, logger="plex.cache"):
        first = cache.fetch(KEY, 60, loader)
        second = cache.fetch(KEY, 60, loader)

    assert (first.state, first.value) == ("MISS", "from plex")
    assert (second.state, second.value) == ("MISS", "from plex")
    assert loader.calls == 2
    assert any("Cache unavailable" in record.getMessage() for record in caplog.records)


def test_a_dead_redis_passes_the_loaders_errors_through(settings, unused_tcp_port: int) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
        }
    }
    cache = PlexCache(stale_ttl=3600, wait=5.0, guard=current().guard)

    with pytest.raises(PlexUnavailable):
        cache.fetch(KEY, 60, Loader(PlexUnavailable("Plex is down")))


# -- what a waiter may take from its leader -----------------------------------------------------


class RefusedFirst(Loader):
    """The first call (the leader's) is refused as the leader's token would be; later calls
    (the waiters' own, with their own tokens) get the value."""

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            time.sleep(0.3)
            raise PlexAuthError("refused the leader's token", status=401)
        return "value"


def test_a_leaders_refused_token_is_never_handed_to_its_waiters(plex_cache: PlexCache) -> None:
    loader = RefusedFirst()

    results = run_together(lambda _: plex_cache.fetch(KEY, 60, loader))

    refused = [result for result in results if isinstance(result, PlexAuthError)]
    assert len(refused) == 1, results  # the leader alone
    assert all(result.value == "value" for result in results if isinstance(result, Cached))


# -- the bulkhead: a slow Plex never holds every thread -------------------------------------------


@contextmanager
def slot_held_by_a_slow_call(plex_cache: PlexCache) -> Iterator[threading.Thread]:
    """The bulkhead's slot taken by a call Plex does not answer until the block ends; yields
    the thread making that call."""
    entered, release = threading.Event(), threading.Event()

    def slow_plex() -> str:
        entered.set()
        release.wait(timeout=60)
        return "slow value"

    holder = threading.Thread(target=plex_cache.fetch, args=("slow", 60, slow_plex))
    holder.start()
    try:
        assert entered.wait(timeout=2)
        yield holder
    finally:
        release.set()
        holder.join(timeout=5)


def test_above_the_bulkhead_a_caller_gets_the_last_good_copy_or_a_fast_refusal(
    plex_cache: PlexCache,
) -> None:
    plex_cache.bulkhead = Bulkhead(1, wait=0.05)
    plex_cache.fetch("cached", 60, Loader("cached value"))
    plex_cache.fetch("stale", 60, Loader("old value"))
    expire_fresh_copy("stale")

    with slot_held_by_a_slow_call(plex_cache) as waiting:
        never = Loader("never asked")

        with pytest.raises(PlexUnavailable, match="slow to answer"):
            plex_cache.fetch("uncached", 60, never)
        stale = plex_cache.fetch("stale", 60, never)
        hit = plex_cache.fetch("cached", 60, never)

        assert waiting.is_alive()  # all of the above while the slow call still waits
        assert (stale.state, stale.value) == ("STALE", "old value")
        assert (hit.state, hit.value) == ("HIT", "cached value")
        assert never.calls == 0


# -- what is stored, and what is caught ------------------------------------------------------------


def test_an_entry_kept_as_long_as_a_stale_copy_is_stored_once(
    plex_cache: PlexCache, redis_client
) -> None:
    plex_cache.fetch("image", plex_cache.stale_ttl, Loader(b"bytes"))

    assert [key for key in redis_client.keys("*image*")] == [b"medianest-test:1:image"]


class PicklingBug:
    """A cache whose every operation fails the way a programming error does."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("cannot pickle '_thread.lock' object")


def test_a_programming_error_in_the_cache_is_not_taken_for_an_outage(
    plex_cache: PlexCache,
) -> None:
    plex_cache.cache = PicklingBug()

    with pytest.raises(TypeError):
        plex_cache.fetch(KEY, 60, Loader())


def test_once_plex_is_known_slow_a_caller_is_turned_away_without_waiting_for_a_slot(
    plex_cache: PlexCache,
) -> None:
    # A caller would wait up to 30 s for a slot; the slot's holder is already 0.1 s into a
    # call, past `slow_after`: Plex is slow, so the caller is told at once.
    plex_cache.bulkhead = Bulkhead(1, wait=30, slow_after=0.1)

    with slot_held_by_a_slow_call(plex_cache):
        time.sleep(0.2)
        outcome: list[BaseException] = []

        def ask() -> None:
            try:
                plex_cache.fetch("other", 60, Loader())
            except PlexUnavailable as exc:
                outcome.append(exc)

        caller = threading.Thread(target=ask)
        caller.start()
        caller.join(timeout=10)
        assert not caller.is_alive(), "the caller waited for a slot Plex is slow to free"
        assert "slow to answer" in str(outcome[0])
