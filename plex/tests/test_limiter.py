"""The fleet-wide limit on requests in flight to one Plex server (plex/client/limiter.py), on the
real Redis: never more holders than slots however many threads and processes ask, a dead
holder's slot back once its lease ends, a fast "busy" past the wait, and each process on its
own while Redis is down. Then the client's use of it, against the emulator."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import pytest
import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from plex.client import FleetLimiter, Guard, PlexClient, PlexUnavailable
from plex_emulator import Emulator

SERVER = "plex.test:32400"
NO_RETRY = Retry(NoBackoff(), 0)


class CountingRedis(redis.Redis):
    """A redis-py client that counts the commands it tried to send."""

    sent = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent += 1
        return super().execute_command(*args, **options)


def hold_together(limiters: list[FleetLimiter], callers: int, hold: float) -> tuple[int, list]:
    """`callers` threads, spread over `limiters`, each holding a slot for `hold` seconds; the
    most holders at once, and what each caller got (None, or the error)."""
    lock = threading.Lock()
    holding = 0
    most = 0
    barrier = threading.Barrier(callers)
    outcomes: list[Any] = [None] * callers

    def caller(index: int) -> None:
        nonlocal holding, most
        barrier.wait(timeout=10)
        try:
            with limiters[index % len(limiters)].slot(lease=5, wait=10):
                with lock:
                    holding += 1
                    most = max(most, holding)
                time.sleep(hold)
                with lock:
                    holding -= 1
        except PlexUnavailable as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a caller never got a slot"
    return most, outcomes


def test_it_never_lets_more_than_size_hold_a_slot(redis_client: redis.Redis) -> None:
    # Three limiters on one Redis are three processes.
    limiters = [FleetLimiter(SERVER, 4, redis=redis_client) for _ in range(3)]

    most, outcomes = hold_together(limiters, callers=40, hold=0.03)

    assert outcomes == [None] * 40, "every caller gets a slot within the wait"
    assert most == 4
    assert redis_client.zcard(limiters[0].key) == 0, "every slot is given back"


def test_a_dead_holders_slot_is_free_again_once_its_lease_ends(
    redis_client: redis.Redis,
) -> None:
    dead = FleetLimiter(SERVER, 2, redis=redis_client)
    dead.lease_margin = 0.0
    # Entered and never left: a process killed in the middle of its request. (Kept, or
    # collecting the generator would run its `finally` and give the slot back.)
    abandoned = [dead.slot(lease=0.3, wait=1) for _ in range(2)]
    for slot in abandoned:
        slot.__enter__()
    alive = FleetLimiter(SERVER, 2, redis=redis_client)

    with pytest.raises(PlexUnavailable, match="busy: 2 requests"), alive.slot(lease=1, wait=0):
        pass

    time.sleep(0.35)
    with alive.slot(lease=1, wait=0), alive.slot(lease=1, wait=0):
        assert redis_client.zcard(alive.key) == 2  # the dead holders are gone, not counted
    assert redis_client.zcard(alive.key) == 0


def test_a_lease_outlasts_the_callers_worst_case(redis_client: redis.Redis) -> None:
    limiter = FleetLimiter(SERVER, 1, redis=redis_client)
    with limiter.slot(lease=28, wait=0):
        ((_, ends),) = redis_client.zrange(limiter.key, 0, -1, withscores=True)
        seconds, microseconds = redis_client.time()
        left = ends / 1000 - (seconds + microseconds / 1e6)
        assert 28 < left <= 28 + limiter.lease_margin
        # The set goes away by itself with its last lease, should the whole fleet die.
        assert 28_000 < redis_client.pttl(limiter.key) <= (28 + limiter.lease_margin) * 1000


def test_it_fails_fast_once_the_wait_is_over(redis_client: redis.Redis) -> None:
    limiter = FleetLimiter(SERVER, 1, redis=redis_client)
    with limiter.slot(lease=5, wait=0):
        started = time.monotonic()
        with pytest.raises(PlexUnavailable) as raised, limiter.slot(lease=5, wait=0.2):
            pass
        waited = time.monotonic() - started

    assert 0.2 <= waited < 0.6
    assert str(raised.value) == "Plex at plex.test:32400 is busy: 1 requests already wait on it."
    assert raised.value.retry_after == 1


def test_a_waiter_gets_the_slot_as_soon_as_it_is_given_back(redis_client: redis.Redis) -> None:
    limiter = FleetLimiter(SERVER, 1, redis=redis_client)
    got: queue.Queue[float] = queue.Queue()

    def waiter() -> None:
        with limiter.slot(lease=5, wait=5):
            got.put(time.monotonic())

    with limiter.slot(lease=5, wait=0):
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        time.sleep(0.2)
        assert got.empty()
        released = time.monotonic()
    assert got.get(timeout=5) - released < 0.2
    thread.join(timeout=5)


def test_without_redis_each_process_keeps_to_its_own_slots(
    unused_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    # No retries of redis-py's own (its default spends seconds on a refused connection).
    dead = CountingRedis(
        port=unused_tcp_port, socket_connect_timeout=0.2, socket_timeout=0.2, retry=NO_RETRY
    )
    guard = Guard((redis.RedisError, OSError), skip_after=60, logger=logging.getLogger("t"))
    limiter = FleetLimiter(SERVER, 3, redis=dead, guard=guard)

    with caplog.at_level(logging.WARNING):
        with limiter.slot(lease=1, wait=0):  # finds Redis down
            pass
        most, outcomes = hold_together([limiter], callers=20, hold=0.05)
        with (
            limiter.slot(lease=1, wait=0),
            limiter.slot(lease=1, wait=0),
            limiter.slot(lease=1, wait=0),
            pytest.raises(PlexUnavailable, match="busy: 3 requests"),
            limiter.slot(lease=1, wait=0.05),
        ):
            pass

    assert outcomes == [None] * 20
    assert most == 3
    assert dead.sent == 1, "a dead Redis costs one try, not one per request"
    warnings = [r for r in caplog.records if "request limit" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "keeps to 3 requests of its own" in warnings[0].getMessage()


def test_without_a_redis_at_all_the_process_has_its_own_slots() -> None:
    limiter = FleetLimiter(SERVER, 2)

    most, outcomes = hold_together([limiter], callers=10, hold=0.02)

    assert (most, outcomes) == (2, [None] * 10)


# -- the client --------------------------------------------------------------------------------


def test_every_request_of_the_client_holds_a_slot_images_too(
    redis_client: redis.Redis, emulator: Emulator
) -> None:
    limiter = FleetLimiter("127.0.0.1", 1, redis=redis_client)
    client = PlexClient(emulator.url, emulator.owner_token, timeout=0.3, limiter=limiter)
    assert client.libraries()  # a slot free: asked as usual
    poster = client.library_items(1, limit=1).items[0].thumb
    assert poster

    with limiter.slot(lease=5, wait=0):  # the one slot, held elsewhere in the fleet
        before = emulator.stats()["requests"]
        with pytest.raises(PlexUnavailable, match="busy"):
            client.libraries()
        with pytest.raises(PlexUnavailable, match="busy"):
            client.image(poster, 100, 150)
        assert emulator.stats()["requests"] == before, "Plex was asked without a slot"

    assert client.image(poster, 100, 150).content
    assert redis_client.zcard(limiter.key) == 0


def test_a_failed_request_gives_its_slot_back(
    redis_client: redis.Redis, emulator: Emulator
) -> None:
    limiter = FleetLimiter("127.0.0.1", 1, redis=redis_client)
    client = PlexClient(emulator.url, emulator.owner_token, timeout=0.3, limiter=limiter)
    emulator.set_fault("status", status=503)

    with pytest.raises(PlexUnavailable, match=r"503|answered"):
        client.libraries()

    assert redis_client.zcard(limiter.key) == 0


def test_the_notification_stream_holds_no_slot(
    redis_client: redis.Redis, emulator: Emulator
) -> None:
    limiter = FleetLimiter("127.0.0.1", 1, redis=redis_client)
    client = PlexClient(emulator.url, emulator.owner_token, timeout=1, limiter=limiter)
    opened: queue.Queue[requests.Response] = queue.Queue()

    def listen() -> None:
        try:
            for _ in client.notifications(idle_timeout=1, on_open=opened.put):
                pass
        except (PlexUnavailable, requests.RequestException, AttributeError, ValueError):
            pass  # the stream closed under it, below

    with limiter.slot(lease=5, wait=0):  # every slot taken: the stream opens all the same
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        stream = opened.get(timeout=5)
        assert emulator.stats()["in_flight"] == 1
        stream.close()
    listener.join(timeout=5)
    assert not listener.is_alive()


def test_every_client_of_a_server_shares_one_limit_of_plex_max_connections(
    settings: Any, emulator: Emulator
) -> None:
    from plex.connections import ServerAddress, current

    settings.PLEX_MAX_CONNECTIONS = 3
    current().reset()
    address = ServerAddress(emulator.url)

    owner = current().client_for(address, emulator.owner_token)
    friend = current().client_for(address, emulator.friend_token)
    slower = current().client_for(ServerAddress(emulator.url, timeout=9), emulator.owner_token)

    assert owner.limiter is not None
    assert owner.limiter is friend.limiter is slower.limiter
    assert owner.limiter.size == 3
