"""PlexClient over real sockets against the emulator, and real Redis for the shared breaker.

Every test builds its own clients and breakers. Retries run without backoff (patched before any
session is built) so the fault tests stay fast; nothing here asserts on elapsed time.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator

import pybreaker
import pytest
import redis

from plex.client import (
    PlexBadResponse,
    PlexBreaker,
    PlexClient,
    PlexNotFound,
    PlexUnavailable,
    make_breaker,
)
from plex_emulator import Emulator

SECTIONS = "/library/sections"
ATTEMPTS = 3  # one request and two urllib3 retries


pytestmark = pytest.mark.usefixtures("no_backoff")


def owner_client(
    emulator: Emulator, breaker: PlexBreaker | None = None, **kwargs: object
) -> PlexClient:
    return PlexClient(
        emulator.url,
        emulator.owner_token,
        breaker=breaker or make_breaker("emu"),
        **kwargs,  # type: ignore[arg-type]
    )


def requests_to(emulator: Emulator, path: str = SECTIONS) -> int:
    return emulator.stats()["by_path"].get(path, 0)


def trip(client: PlexClient, n: int = 5) -> None:
    for _ in range(n):
        with pytest.raises(PlexUnavailable):
            client.libraries()


# -- paging and connections -------------------------------------------------------------------


def test_paging_through_a_section_yields_every_item_once(emulator: Emulator) -> None:
    client = owner_client(emulator)
    keys: list[str] = []
    offset = 0
    first = client.library_items(1, 0, limit=50)
    total = first.total_size
    page = first
    while True:
        assert page.offset == offset
        assert 0 < len(page.items) <= 50
        assert page.total_size == total
        keys += [item.rating_key for item in page.items]
        offset += len(page.items)
        if offset >= total:
            break
        page = client.library_items(1, offset, limit=50)

    assert total == len(emulator.library.sections["1"].items)
    assert len(keys) == total
    assert len(set(keys)) == total
    assert all(keys)


def test_a_page_past_the_end_is_empty_but_keeps_the_total(emulator: Emulator) -> None:
    client = owner_client(emulator)
    total = len(emulator.library.sections["1"].items)

    page = client.library_items(1, total, limit=50)

    assert page.items == []
    assert page.total_size == total


def test_sequential_calls_reuse_one_keep_alive_connection(emulator: Emulator) -> None:
    client = owner_client(emulator)

    for _ in range(500):
        assert client.libraries()

    stats = emulator.stats()
    assert stats["by_path"][SECTIONS] == 500
    assert stats["connections"] <= 10
    assert stats["connections"] == 1


def test_twenty_threads_sharing_a_client_open_at_most_ten_connections(emulator: Emulator) -> None:
    client = owner_client(emulator)
    start = threading.Barrier(20)
    errors: list[BaseException] = []
    done: list[int] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(25):
                client.library_items(1, 0, limit=5)
            done.append(1)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(done) == 20
    stats = emulator.stats()
    assert stats["by_path"]["/library/sections/1/all"] == 500
    assert 1 <= stats["connections"] <= 10


# -- faults ---------------------------------------------------------------------------------


def test_a_reset_connection_is_retried_twice_then_unavailable(emulator: Emulator) -> None:
    client = owner_client(emulator)
    emulator.set_fault("reset")

    with pytest.raises(PlexUnavailable):
        client.libraries()

    assert requests_to(emulator) == ATTEMPTS


def test_a_503_is_retried_twice_then_unavailable(emulator: Emulator) -> None:
    client = owner_client(emulator)
    emulator.set_fault("status", status=503)

    with pytest.raises(PlexUnavailable) as info:
        client.libraries()

    assert info.value.status == 503
    assert requests_to(emulator) == ATTEMPTS


def test_a_500_is_unavailable_without_a_retry(emulator: Emulator) -> None:
    client = owner_client(emulator)
    emulator.set_fault("status", status=500)

    with pytest.raises(PlexUnavailable) as info:
        client.libraries()

    assert info.value.status == 500
    assert requests_to(emulator) == 1


def test_a_truncated_body_is_a_bad_response(emulator: Emulator) -> None:
    client = owner_client(emulator)
    emulator.set_fault("malformed")

    with pytest.raises(PlexBadResponse):
        client.libraries()

    assert requests_to(emulator) == 1


def test_a_server_slower_than_the_timeout_is_unavailable(emulator: Emulator) -> None:
    client = owner_client(emulator, timeout=0.2)
    emulator.set_fault("hold")  # never answers while the test runs: no clock involved

    with pytest.raises(PlexUnavailable):
        client.libraries()

    assert requests_to(emulator) == ATTEMPTS


def test_a_server_slower_than_the_timeout_is_reported_as_a_timeout(emulator: Emulator) -> None:
    client = owner_client(emulator, timeout=0.2)
    emulator.set_fault("hold")

    with pytest.raises(PlexUnavailable, match=r"did not answer within 0\.2 s"):
        client.libraries()


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("reset", {}),
        ("status", {"status": 503}),
        ("status", {"status": 500}),
        ("malformed", {}),
        ("hold", {}),
    ],
    ids=["reset", "503", "500", "malformed", "slow"],
)
def test_the_same_client_works_again_once_the_fault_is_cleared(
    emulator: Emulator, mode: str, options: dict[str, int]
) -> None:
    client = owner_client(emulator, timeout=0.2 if mode == "hold" else 3.0)
    emulator.set_fault(mode, **options)
    with pytest.raises((PlexUnavailable, PlexBadResponse)):
        client.libraries()

    emulator.clear_fault()
    emulator.reset_stats()
    sections = client.libraries()

    assert {library.key for library in sections} == set(emulator.library.sections)
    assert requests_to(emulator) == 1


def test_a_fault_on_one_path_leaves_other_paths_working(emulator: Emulator) -> None:
    client = owner_client(emulator)
    emulator.set_fault("status", status=503, path_prefix="/library/metadata")

    with pytest.raises(PlexUnavailable):
        client.metadata(emulator.library.sections["1"].items[0]["ratingKey"])
    assert client.libraries()


# -- circuit breaker ----------------------------------------------------------------------------


def test_five_unavailable_calls_open_the_circuit(emulator: Emulator, clock) -> None:
    breaker = make_breaker("emu", fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)
    emulator.set_fault("status", status=503)

    trip(client, 4)
    assert breaker.current_state == pybreaker.STATE_CLOSED
    trip(client, 1)

    assert breaker.current_state == pybreaker.STATE_OPEN
    assert requests_to(emulator) == 5 * ATTEMPTS


def test_an_open_circuit_fails_at_once_without_a_request(emulator: Emulator, clock) -> None:
    breaker = make_breaker("emu", fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)
    emulator.set_fault("status", status=503)
    trip(client)
    emulator.clear_fault()  # a request now would succeed: failing proves none was sent
    sent = emulator.stats()["requests"]

    for _ in range(3):
        with pytest.raises(PlexUnavailable, match="not answering") as info:
            client.libraries()
        assert info.value.retry_after > 0
        assert info.value.retry_after == 30  # the clock is frozen: the whole reset timeout

    assert emulator.stats()["requests"] == sent


def test_the_circuit_stays_open_until_the_reset_timeout(emulator: Emulator, clock) -> None:
    breaker = make_breaker("emu", fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)
    emulator.set_fault("status", status=503)
    trip(client)
    emulator.clear_fault()
    sent = emulator.stats()["requests"]

    clock.shift(29)
    with pytest.raises(PlexUnavailable) as info:
        client.libraries()

    assert info.value.retry_after == 1
    assert emulator.stats()["requests"] == sent
    assert breaker.current_state == pybreaker.STATE_OPEN


def test_after_the_reset_timeout_one_trial_call_closes_the_circuit(
    emulator: Emulator, clock
) -> None:
    breaker = make_breaker("emu", fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)
    emulator.set_fault("status", status=503)
    trip(client)
    emulator.clear_fault()
    emulator.reset_stats()

    clock.shift(31)
    sections = client.libraries()

    assert {library.key for library in sections} == set(emulator.library.sections)
    assert emulator.stats()["requests"] == 1
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert client.libraries()
    assert emulator.stats()["requests"] == 2


def test_a_failed_trial_call_is_one_request_and_opens_the_circuit_again(
    emulator: Emulator, clock
) -> None:
    breaker = make_breaker("emu", fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)
    emulator.set_fault("status", status=503)
    trip(client)
    emulator.reset_stats()

    clock.shift(31)
    with pytest.raises(PlexUnavailable):
        client.libraries()
    assert requests_to(emulator) == 1  # a trial is one attempt, not a round of retries
    assert breaker.current_state == pybreaker.STATE_OPEN

    with pytest.raises(PlexUnavailable, match="not answering"):
        client.libraries()
    assert requests_to(emulator) == 1


def test_not_found_answers_do_not_open_the_circuit(emulator: Emulator) -> None:
    breaker = make_breaker("emu", fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)

    for _ in range(5):
        with pytest.raises(PlexNotFound):
            client.metadata(999999)

    assert breaker.current_state == pybreaker.STATE_CLOSED
    with pytest.raises(PlexNotFound):
        client.metadata(999999)
    assert requests_to(emulator, "/library/metadata/999999") == 6


def test_a_friend_cannot_see_an_owner_only_item_the_owner_can(emulator: Emulator) -> None:
    rating_key = emulator.library.sections["2"].items[0]["ratingKey"]
    friend = PlexClient(emulator.url, emulator.friend_token, breaker=make_breaker("emu-friend"))
    owner = owner_client(emulator)

    with pytest.raises(PlexNotFound):
        friend.metadata(rating_key)
    item = owner.metadata(rating_key)

    assert item.rating_key == rating_key
    assert item.library_section_id == "2"


# -- the breaker shared through Redis -----------------------------------------------------------


@pytest.fixture
def shared_breakers(
    redis_client: redis.Redis, redis_url: str
) -> Iterator[tuple[PlexBreaker, PlexBreaker]]:
    """Two breakers of one server, as two worker processes build them: own Redis clients."""
    connections = [redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url)]
    breakers = tuple(
        make_breaker("emu-shared", redis=connection, fail_max=5, reset_timeout=30)
        for connection in connections
    )
    yield breakers  # type: ignore[misc]
    for connection in connections:
        connection.close()


def test_a_circuit_opened_in_one_process_fails_fast_in_another(
    emulator: Emulator, shared_breakers: tuple[PlexBreaker, PlexBreaker]
) -> None:
    breaker_a, breaker_b = shared_breakers
    client_a = owner_client(emulator, breaker_a)
    client_b = owner_client(emulator, breaker_b)  # its own session: another process
    emulator.set_fault("status", status=503)

    trip(client_a)
    emulator.clear_fault()  # a request from B would now succeed: failing proves none was sent
    sent = emulator.stats()["requests"]

    with pytest.raises(PlexUnavailable, match="not answering"):
        client_b.libraries()
    assert emulator.stats()["requests"] == sent
    assert breaker_b.current_state == pybreaker.STATE_OPEN


def test_the_shared_circuit_lives_under_its_redis_namespace(
    emulator: Emulator,
    shared_breakers: tuple[PlexBreaker, PlexBreaker],
    redis_client: redis.Redis,
) -> None:
    prefix = b"medianest:breaker:emu-shared:"
    client = owner_client(emulator, shared_breakers[0])
    emulator.set_fault("status", status=503)

    trip(client)

    keys = redis_client.keys(prefix + b"*")
    assert keys
    # Nothing of this circuit outside its namespace (not a bare "emu-shared:..." key).
    assert all(key.startswith(prefix) for key in redis_client.keys("*emu-shared*"))
    state = [key for key in keys if key.endswith(b":state")]
    assert len(state) == 1
    assert redis_client.get(state[0]) == b"open"


def test_a_breaker_still_works_when_redis_is_down(emulator: Emulator, unused_tcp_port: int) -> None:
    down = redis.Redis(host="127.0.0.1", port=unused_tcp_port, socket_connect_timeout=0.2)
    breaker = make_breaker("emu-no-redis", redis=down, fail_max=5, reset_timeout=30)
    client = owner_client(emulator, breaker)

    sections = client.libraries()

    assert {library.key for library in sections} == set(emulator.library.sections)
    assert requests_to(emulator) == 1


# -- logs and unreachable servers ---------------------------------------------------------------


def test_the_token_never_reaches_the_logs(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, unused_tcp_port: int
) -> None:
    caplog.set_level(logging.DEBUG)  # root: urllib3's and requests' debug lines too
    token = emulator.owner_token
    in_header = owner_client(emulator)
    in_query = owner_client(emulator, make_breaker("emu-query"), token_in_query=True)
    down = PlexClient(
        f"http://127.0.0.1:{unused_tcp_port}",
        token,
        timeout=0.5,
        token_in_query=True,
        breaker=make_breaker("emu-down"),
    )

    in_header.libraries()
    in_header.library_items(1, 0, limit=5)
    in_query.libraries()
    in_query.library_items(1, 0, limit=5)
    with pytest.raises(PlexUnavailable):
        down.libraries()

    messages = [record.getMessage() for record in caplog.records]
    # The capture did see urllib3 logging the query-string URL, redacted.
    assert any(
        record.name.startswith("urllib3") and "X-Plex-Token=" in record.getMessage()
        for record in caplog.records
    )
    assert token not in caplog.text
    assert all(token not in message for message in messages)


def test_each_request_is_logged_at_debug_with_path_status_and_duration(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, unused_tcp_port: int
) -> None:
    caplog.set_level(logging.DEBUG)
    client = owner_client(emulator, token_in_query=True)
    down = PlexClient(
        f"http://127.0.0.1:{unused_tcp_port}",
        emulator.owner_token,
        timeout=0.5,
        breaker=make_breaker("emu-down"),
    )

    client.libraries()
    with pytest.raises(PlexUnavailable):
        down.libraries()

    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name == "plex.client" and record.levelno == logging.DEBUG
    ]
    assert any(re.fullmatch(r"GET /library/sections -> 200 in \d+ ms", line) for line in lines)
    assert any(
        re.fullmatch(r"GET /library/sections -> connection error in \d+ ms", line) for line in lines
    )


def test_a_server_that_is_down_is_unavailable_naming_host_and_port(
    unused_tcp_port: int,
) -> None:
    token = "down-token-9c1e7a3b55"
    client = PlexClient(
        f"http://127.0.0.1:{unused_tcp_port}",
        token,
        timeout=0.5,
        token_in_query=True,
        breaker=make_breaker("emu-down"),
    )

    with pytest.raises(PlexUnavailable) as info:
        client.libraries()

    message = str(info.value)
    assert f"127.0.0.1:{unused_tcp_port}" in message
    assert token not in message
    assert token not in repr(info.value)


# -- the fleet's circuit: one trial, and Redis going away ----------------------------------------


def _two_processes(url: str, name: str) -> tuple[PlexBreaker, PlexBreaker]:
    """Two breakers of one server on their own Redis clients, as two worker processes."""
    return tuple(  # type: ignore[return-value]
        make_breaker(
            name,
            redis=redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.2),
            fail_max=5,
            reset_timeout=30,
        )
        for _ in range(2)
    )


def test_one_trial_call_for_the_whole_fleet(
    emulator: Emulator, redis_url: str, redis_client: redis.Redis, clock
) -> None:
    breaker_a, breaker_b = _two_processes(redis_url, "emu-fleet")
    client_a, client_b = owner_client(emulator, breaker_a), owner_client(emulator, breaker_b)
    emulator.set_fault("status", status=503)
    trip(client_a)
    clock.shift(31)
    entered, release = threading.Event(), threading.Event()

    def slow_trial() -> str:
        entered.set()
        release.wait(timeout=5)
        return "recovered"

    thread = threading.Thread(target=breaker_a.call, args=(slow_trial,))
    thread.start()
    try:
        assert entered.wait(timeout=2)
        emulator.reset_stats()
        with pytest.raises(PlexUnavailable, match="not answering"):
            client_b.libraries()  # the other process: no trial of its own
        assert emulator.stats()["requests"] == 0
    finally:
        release.set()
        thread.join(timeout=5)
    emulator.clear_fault()
    assert breaker_b.current_state == pybreaker.STATE_CLOSED
    assert client_b.libraries()


def test_redis_dying_leaves_no_stale_open_circuit_behind(
    emulator: Emulator, private_redis, clock
) -> None:
    breaker_a, breaker_b = _two_processes(private_redis.url, "emu-dying")
    client_a, client_b = owner_client(emulator, breaker_a), owner_client(emulator, breaker_b)
    emulator.set_fault("status", status=503)
    trip(client_a)  # A remembers "open"
    emulator.clear_fault()
    clock.shift(31)
    assert client_b.libraries()  # B's trial closes the shared circuit; A's memory is not told
    assert breaker_a.current_state == pybreaker.STATE_CLOSED

    private_redis.kill()

    # Plex is well: A serves from it, rather than from its old memory of an open circuit.
    assert client_a.libraries()
    assert client_a.libraries()
