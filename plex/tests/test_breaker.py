"""The circuit breaker: make_breaker/PlexBreaker alone and under PlexClient, on a fake clock."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pybreaker
import pytest
import responses

from plex.client import (
    PlexAuthError,
    PlexBadRequest,
    PlexBadResponse,
    PlexBreaker,
    PlexClient,
    PlexNotFound,
    PlexUnavailable,
    make_breaker,
)

BASE = "http://plex.test:32400"
URL = f"{BASE}/library/sections"
TOKEN = "breaker-token-abcdefgh123456"
OK = {"MediaContainer": {"size": 0}}
ATTEMPTS = 3  # one request and two urllib3 retries per 503


pytestmark = pytest.mark.usefixtures("no_backoff")


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def breaker() -> PlexBreaker:
    return make_breaker("plex.test:32400", fail_max=5, reset_timeout=30)


@pytest.fixture
def client(breaker: PlexBreaker) -> PlexClient:
    return PlexClient(BASE, TOKEN, breaker=breaker)


def fail(n: int, client: PlexClient) -> None:
    for _ in range(n):
        with pytest.raises(PlexUnavailable):
            client.libraries()


def trip(client: PlexClient, rsps: responses.RequestsMock) -> None:
    rsps.get(URL, body="busy", status=503)
    fail(5, client)
    rsps.remove(responses.GET, URL)


def raise_unavailable() -> None:
    raise PlexUnavailable("down")


# -- make_breaker -------------------------------------------------------------------------


def test_make_breaker_defaults_to_five_failures_and_thirty_seconds() -> None:
    breaker = make_breaker("plex.test:32400")
    assert isinstance(breaker, PlexBreaker)
    assert (breaker.fail_max, breaker.reset_timeout) == (5, 30)
    assert breaker.name == "plex.test:32400"
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_make_breaker_without_redis_keeps_state_in_memory() -> None:
    breaker = make_breaker("x:1")
    assert isinstance(breaker._state_storage, pybreaker.CircuitMemoryStorage)


def test_breaker_reraises_the_unavailable_error_that_trips_it(breaker) -> None:
    for _ in range(4):
        with pytest.raises(PlexUnavailable):
            breaker.call(raise_unavailable)
    with pytest.raises(PlexUnavailable, match="down"):
        breaker.call(raise_unavailable)
    assert breaker.current_state == pybreaker.STATE_OPEN


def test_remaining_open_seconds_is_zero_when_closed(breaker) -> None:
    assert breaker.remaining_open_seconds() == 0.0


def test_remaining_open_seconds_counts_down(breaker, clock) -> None:
    for _ in range(5):
        with pytest.raises(PlexUnavailable):
            breaker.call(raise_unavailable)
    assert breaker.remaining_open_seconds() == pytest.approx(30)
    clock.shift(12)
    assert breaker.remaining_open_seconds() == pytest.approx(18)


# -- closed -> open -----------------------------------------------------------------------


def test_four_consecutive_failures_leave_the_circuit_closed(rsps, client, breaker) -> None:
    rsps.get(URL, body="busy", status=503)
    fail(4, client)
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert len(rsps.calls) == 4 * ATTEMPTS


def test_five_consecutive_unavailable_open_the_circuit(rsps, client, breaker, clock) -> None:
    trip(client, rsps)
    assert breaker.current_state == pybreaker.STATE_OPEN
    assert len(rsps.calls) == 5 * ATTEMPTS


def test_open_circuit_fails_at_once_without_a_request(rsps, client, clock) -> None:
    trip(client, rsps)
    rsps.get(URL, json=OK)
    sent = len(rsps.calls)
    for _ in range(3):
        with pytest.raises(PlexUnavailable, match="not answering"):
            client.libraries()
    assert len(rsps.calls) == sent


def test_open_circuit_retry_after_is_the_remaining_reset_time(rsps, client, clock) -> None:
    trip(client, rsps)
    clock.shift(10)
    with pytest.raises(PlexUnavailable) as caught:
        client.libraries()
    assert caught.value.retry_after == 20
    assert "20 s" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_connection_errors_count_as_failures(rsps, client, breaker, clock) -> None:
    import requests

    rsps.get(URL, body=requests.ConnectionError("Connection refused"))
    fail(5, client)
    assert breaker.current_state == pybreaker.STATE_OPEN


# -- half-open ----------------------------------------------------------------------------


def test_after_reset_timeout_one_trial_call_goes_through(rsps, client, clock) -> None:
    trip(client, rsps)
    rsps.get(URL, json=OK)
    sent = len(rsps.calls)
    clock.shift(31)
    assert client.libraries() == []
    assert len(rsps.calls) == sent + 1


def test_before_reset_timeout_no_trial_call(rsps, client, breaker, clock) -> None:
    trip(client, rsps)
    rsps.get(URL, json=OK)
    sent = len(rsps.calls)
    clock.shift(29)
    with pytest.raises(PlexUnavailable):
        client.libraries()
    assert len(rsps.calls) == sent
    assert breaker.current_state == pybreaker.STATE_OPEN


def test_successful_trial_closes_the_circuit(rsps, client, breaker, clock) -> None:
    trip(client, rsps)
    rsps.get(URL, json=OK)
    clock.shift(31)
    client.libraries()
    assert breaker.current_state == pybreaker.STATE_CLOSED
    sent = len(rsps.calls)
    client.libraries()
    client.libraries()
    assert len(rsps.calls) == sent + 2


def test_failed_trial_reopens_the_circuit(rsps, client, breaker, clock) -> None:
    trip(client, rsps)
    rsps.get(URL, body="busy", status=503)
    clock.shift(31)
    with pytest.raises(PlexUnavailable, match="503"):
        client.libraries()
    assert breaker.current_state == pybreaker.STATE_OPEN
    sent = len(rsps.calls)
    with pytest.raises(PlexUnavailable, match="not answering") as caught:
        client.libraries()
    assert len(rsps.calls) == sent
    assert caught.value.retry_after == 30


def test_failed_trial_waits_a_full_reset_timeout_again(rsps, client, breaker, clock) -> None:
    trip(client, rsps)
    rsps.get(URL, body="busy", status=503)
    clock.shift(31)
    fail(1, client)
    rsps.remove(responses.GET, URL)
    rsps.get(URL, json=OK)
    clock.shift(29)
    fail(1, client)
    assert breaker.current_state == pybreaker.STATE_OPEN
    clock.shift(2)
    assert client.libraries() == []
    assert breaker.current_state == pybreaker.STATE_CLOSED


# -- what counts as a failure -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, PlexAuthError), (404, PlexNotFound), (400, PlexBadRequest)],
)
def test_client_errors_do_not_count_as_failures(rsps, client, breaker, status, error) -> None:
    rsps.get(URL, body="<html>no</html>", status=status, content_type="text/html")
    for _ in range(6):
        with pytest.raises(error):
            client.libraries()
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert len(rsps.calls) == 6


def test_five_404s_leave_the_circuit_closed_and_requests_flowing(rsps, client, breaker) -> None:
    rsps.get(URL, body="<html>404</html>", status=404, content_type="text/html")
    for _ in range(5):
        with pytest.raises(PlexNotFound):
            client.libraries()
    rsps.remove(responses.GET, URL)
    rsps.get(URL, json=OK)
    assert client.libraries() == []
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_a_success_resets_the_consecutive_count(rsps, client, breaker) -> None:
    rsps.get(URL, body="busy", status=503)
    fail(4, client)
    rsps.remove(responses.GET, URL)
    rsps.get(URL, json=OK)
    client.libraries()
    rsps.remove(responses.GET, URL)
    rsps.get(URL, body="busy", status=503)
    fail(4, client)
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert breaker.fail_counter == 4


# -- concurrency --------------------------------------------------------------------------


def test_closed_circuit_runs_calls_concurrently(breaker) -> None:
    barrier = threading.Barrier(2, timeout=2)
    errors: list[BaseException] = []

    def slow() -> str:
        barrier.wait()  # both threads must be inside at once, or this times out
        return "ok"

    def run() -> None:
        try:
            assert breaker.call(slow) == "ok"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert not barrier.broken


def test_half_open_trial_in_progress_makes_others_fail_fast(breaker, clock) -> None:
    for _ in range(5):
        with pytest.raises(PlexUnavailable):
            breaker.call(raise_unavailable)
    clock.shift(31)
    entered, release = threading.Event(), threading.Event()
    result: list[str] = []

    def trial() -> str:
        entered.set()
        release.wait(timeout=5)
        return "recovered"

    thread = threading.Thread(target=lambda: result.append(breaker.call(trial)))
    thread.start()
    try:
        assert entered.wait(timeout=2)
        assert breaker.current_state == pybreaker.STATE_HALF_OPEN
        second_ran = threading.Event()
        with pytest.raises(pybreaker.CircuitBreakerError):
            breaker.call(second_ran.set)
        assert not second_ran.is_set()
    finally:
        release.set()
        thread.join(timeout=5)
    assert result == ["recovered"]
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_client_fails_fast_with_unavailable_while_a_trial_runs(rsps, breaker, clock) -> None:
    client = PlexClient(BASE, TOKEN, breaker=breaker)
    trip(client, rsps)
    rsps.get(URL, json=OK)
    clock.shift(31)
    entered, release = threading.Event(), threading.Event()

    def trial() -> None:
        entered.set()
        release.wait(timeout=5)

    thread = threading.Thread(target=breaker.call, args=(trial,))
    thread.start()
    try:
        assert entered.wait(timeout=2)
        sent = len(rsps.calls)
        with pytest.raises(PlexUnavailable) as caught:
            client.libraries()
        assert len(rsps.calls) == sent
        assert caught.value.retry_after >= 1
    finally:
        release.set()
        thread.join(timeout=5)


# -- what counts, and what a late failure may do ---------------------------------------------


def raise_bad_response() -> None:
    raise PlexBadResponse("unreadable")


def test_unreadable_answers_count_as_failures(breaker) -> None:
    for _ in range(5):
        with pytest.raises(PlexBadResponse):
            breaker.call(raise_bad_response)

    assert breaker.current_state == pybreaker.STATE_OPEN


def test_a_call_begun_before_the_circuit_opened_does_not_open_it_again(breaker, clock) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_failure() -> None:
        entered.set()
        release.wait(timeout=5)
        raise PlexUnavailable("timed out long ago")

    def old_call() -> None:
        with contextlib.suppress(PlexUnavailable):
            breaker.call(slow_failure)

    thread = threading.Thread(target=old_call)
    thread.start()
    try:
        assert entered.wait(timeout=2)
        clock.shift(1)
        for _ in range(5):  # meanwhile, others fail and open the circuit
            with pytest.raises(PlexUnavailable):
                breaker.call(raise_unavailable)
        assert breaker.remaining_open_seconds() == 30
        clock.shift(10)
    finally:
        release.set()  # the old call fails now, 10 s after the circuit opened
        thread.join(timeout=5)

    assert breaker.current_state == pybreaker.STATE_OPEN
    # Still counting down from the opening, not restarted by the old call's failure.
    assert breaker.remaining_open_seconds() == 20


def test_only_the_trial_call_is_told_it_is_one(breaker, clock) -> None:
    assert breaker.call(breaker.in_trial) is False
    for _ in range(5):
        with pytest.raises(PlexUnavailable):
            breaker.call(raise_unavailable)
    clock.shift(31)

    assert breaker.call(breaker.in_trial) is True  # the trial: one attempt, says the client
    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert breaker.call(breaker.in_trial) is False
