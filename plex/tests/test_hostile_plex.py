"""The client against a hostile Plex (plex_emulator/hostile.py: a misbehaving proxy in front of
the emulator, over real sockets): redirects, cookies, huge, slow, truncated and mislabelled
answers, broken JSON. Nothing it does may carry a token elsewhere, pass state between users,
hold a caller past the deadline, or come back as a good answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pybreaker
import pytest

from plex.client import (
    PlexBadResponse,
    PlexClient,
    PlexUnavailable,
    make_breaker,
)
from plex.client.plextv import PlexTvClient
from plex.client.session import make_adapter
from plex_emulator import Emulator
from plex_emulator.hostile import HostilePlex

pytestmark = pytest.mark.usefixtures("no_backoff")

POSTER = "/library/metadata/{key}/thumb/1"


def client_for(hostile: HostilePlex, token: str, **kwargs: Any) -> PlexClient:
    return PlexClient(hostile.url, token, breaker=make_breaker("hostile"), **kwargs)


def poster_of(emulator: Emulator) -> str:
    key = emulator.library.sections["1"].items[0]["ratingKey"]
    return POSTER.format(key=key)


def finishes_within(seconds: float, call: Callable[[], Any]) -> BaseException | None:
    """Runs `call` in a thread; fails the test if it is still running after `seconds`, else
    returns what it raised (None if nothing)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # handed to the test to assert on
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting on Plex after {seconds} s"
    return outcome[0]


# -- redirects ----------------------------------------------------------------------------------


def test_a_redirect_is_a_bad_answer_and_the_token_goes_nowhere(
    hostile: HostilePlex, elsewhere: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("redirect", location=f"{elsewhere.url}/library/sections")
    client = client_for(hostile, emulator.friend_token)

    with pytest.raises(PlexBadResponse, match="redirect"):
        client.libraries()

    assert elsewhere.seen == []


def test_a_redirected_poster_is_not_fetched_from_the_other_host(
    hostile: HostilePlex, elsewhere: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("redirect", path_prefix="/photo", location=f"{elsewhere.url}/photo/:/transcode")
    client = client_for(hostile, emulator.friend_token, token_in_query=True)

    with pytest.raises(PlexBadResponse, match="redirect"):
        client.image(poster_of(emulator), 150, 225)

    assert elsewhere.seen == []


def test_plex_tv_redirects_are_not_followed_either(
    hostile: HostilePlex, elsewhere: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("redirect", location=f"{elsewhere.url}/api/v2/user")
    plextv = PlexTvClient(hostile.url, client_identifier="hostile-test")

    with pytest.raises(PlexBadResponse, match="redirect"):
        plextv.account(emulator.accounts["friend"].auth_token)

    assert elsewhere.seen == []


# -- cookies ------------------------------------------------------------------------------------


def test_a_cookie_set_on_one_users_answer_never_rides_on_a_request(
    hostile: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("set_cookie")
    # As plex.connections builds them: one pool and one breaker for the server, shared.
    adapter, breaker = make_adapter(), make_breaker("hostile")
    owner = PlexClient(hostile.url, emulator.owner_token, adapter=adapter, breaker=breaker)
    friend = PlexClient(hostile.url, emulator.friend_token, adapter=adapter, breaker=breaker)

    owner.libraries()
    friend.libraries()
    owner.libraries()

    assert [request.headers.get("Cookie") for request in hostile.seen] == [None, None, None]
    # And the pool was shared: one keep-alive connection for both users.
    assert emulator.stats()["connections"] <= 3


# -- size, time, truncation and labels ------------------------------------------------------------


def test_a_huge_image_is_refused_at_the_cap(hostile: HostilePlex, emulator: Emulator) -> None:
    hostile.set("huge", path_prefix="/photo", size=40 * 1024 * 1024)
    client = client_for(hostile, emulator.friend_token, image_max_bytes=10 * 1024 * 1024)

    with pytest.raises(PlexBadResponse, match="more than 10 MB"):
        client.image(poster_of(emulator), 300, 450)


def test_an_image_dripping_in_is_given_up_at_the_deadline(
    hostile: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("drip", path_prefix="/photo", interval=0.1)
    client = client_for(hostile, emulator.friend_token, deadline=1.0, timeout=2.0)

    error = finishes_within(10, lambda: client.image(poster_of(emulator), 60, 90))

    assert isinstance(error, PlexUnavailable), error
    assert "took more than 1 s" in str(error)


def test_a_slow_json_answer_is_given_up_at_the_deadline_too(
    hostile: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("drip", path_prefix="/library/sections", interval=0.05)
    client = client_for(hostile, emulator.friend_token, deadline=1.0, timeout=2.0)

    error = finishes_within(10, client.libraries)

    assert isinstance(error, PlexUnavailable), error


@pytest.mark.parametrize("mode", ["truncate", "short"])
def test_half_an_image_is_a_bad_answer(hostile: HostilePlex, emulator: Emulator, mode: str) -> None:
    hostile.set(mode, path_prefix="/photo")
    client = client_for(hostile, emulator.friend_token)

    with pytest.raises(PlexBadResponse):
        client.image(poster_of(emulator), 300, 450)


def test_an_image_is_typed_by_its_bytes_not_by_plexs_label(
    hostile: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("mislabel", path_prefix="/photo", content_type="image/svg+xml", body="gif")
    client = client_for(hostile, emulator.friend_token)

    image = client.image(poster_of(emulator), 300, 450)

    assert image.content_type == "image/gif"
    assert image.content.startswith(b"GIF8")


# -- unreadable answers and the circuit -----------------------------------------------------------


def test_unreadable_answers_open_the_circuit(hostile: HostilePlex, emulator: Emulator) -> None:
    hostile.set("broken_json")
    breaker = make_breaker("hostile", fail_max=5, reset_timeout=30)
    client = PlexClient(hostile.url, emulator.friend_token, breaker=breaker)

    for _ in range(5):
        with pytest.raises(PlexBadResponse):
            client.libraries()

    assert breaker.current_state == pybreaker.STATE_OPEN
    before = len(hostile.seen)
    with pytest.raises(PlexUnavailable, match="not answering"):
        client.libraries()
    assert len(hostile.seen) == before  # no request while the circuit is open
