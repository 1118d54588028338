"""The API with a hostile Plex in front of the emulator (plex_emulator/hostile.py), over real
sockets, real Redis and the database: what a friend sees when Plex redirects, sets cookies,
sends huge, slow, truncated or mislabelled images, and what is kept of it."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from django.test import Client

from accounts.models import User
from plex.models import ServiceConfig
from plex.services import check_connection
from plex_emulator import Emulator
from plex_emulator.hostile import HostilePlex

API = "/api/v1/plex/"


@pytest.fixture
def behind_hostile(redis_cache: str, emulator: Emulator, hostile: HostilePlex) -> ServiceConfig:
    """MediaNest's Plex server is the hostile proxy (well behaved until a test says)."""
    config = ServiceConfig.objects.create(url=hostile.url)
    check_connection(config, emulator.owner_token)
    hostile.reset_seen()
    emulator.reset_stats()
    return config


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def friend_api(behind_hostile: ServiceConfig, friend: User) -> Client:
    return signed_in(friend)


@pytest.fixture
def owner_api(behind_hostile: ServiceConfig, owner: User) -> Client:
    return signed_in(owner)


def poster_url(emulator: Emulator, index: int = 0, width: int = 300, height: int = 450) -> str:
    thumb = emulator.library.sections["1"].items[index]["thumb"]
    return f"{API}image?path={thumb}&width={width}&height={height}"


def image_keys(redis_client: redis.Redis) -> list[bytes]:
    """Cached image bytes (not the short-lived lock and failure markers beside them)."""
    keys = redis_client.keys("*:shared:image:*")
    return [key for key in keys if not key.endswith((b":lock", b":failed"))]


def code_of(response: Any) -> str:
    return response.json()["code"]


# -- redirects and cookies ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_redirecting_plex_is_a_502_and_nothing_reaches_the_other_host(
    friend_api: Client, hostile: HostilePlex, elsewhere: HostilePlex
) -> None:
    hostile.set("redirect", location=f"{elsewhere.url}/library/sections")

    response = friend_api.get(f"{API}libraries")

    assert (response.status_code, code_of(response)) == (502, "plex_bad_response")
    assert elsewhere.seen == []


@pytest.mark.django_db
def test_a_redirected_poster_is_a_502_fetched_from_nowhere_and_kept_nowhere(
    friend_api: Client,
    hostile: HostilePlex,
    elsewhere: HostilePlex,
    emulator: Emulator,
    redis_client: redis.Redis,
) -> None:
    hostile.set("redirect", path_prefix="/photo", location=f"{elsewhere.url}/photo/:/transcode")

    response = friend_api.get(poster_url(emulator))

    assert (response.status_code, code_of(response)) == (502, "plex_bad_response")
    assert elsewhere.seen == []
    assert image_keys(redis_client) == []


@pytest.mark.django_db
def test_a_cookie_plex_sets_for_one_user_rides_on_no_request(
    owner_api: Client, friend_api: Client, hostile: HostilePlex
) -> None:
    hostile.set("set_cookie")

    assert owner_api.get(f"{API}libraries").status_code == 200
    assert friend_api.get(f"{API}libraries").status_code == 200
    assert owner_api.get(f"{API}server").status_code == 200

    assert len(hostile.seen) >= 3
    assert [request.headers.get("Cookie") for request in hostile.seen] == [None] * len(hostile.seen)


# -- images: size, time, truncation, labels --------------------------------------------------------


@pytest.mark.django_db
def test_a_huge_image_is_a_502_and_is_not_kept(
    friend_api: Client, hostile: HostilePlex, emulator: Emulator, redis_client: redis.Redis
) -> None:
    hostile.set("huge", path_prefix="/photo", size=40 * 1024 * 1024)

    response = friend_api.get(poster_url(emulator))

    assert (response.status_code, code_of(response)) == (502, "plex_bad_response")
    assert image_keys(redis_client) == []


@pytest.mark.django_db
def test_an_image_dripping_in_is_a_503_at_the_deadline(
    friend_api: Client, hostile: HostilePlex, emulator: Emulator, settings: Any
) -> None:
    settings.PLEX_RESPONSE_DEADLINE = 1.0
    hostile.set("drip", path_prefix="/photo", interval=0.2)
    started = time.monotonic()

    response = friend_api.get(poster_url(emulator))  # without a deadline: several minutes

    assert (response.status_code, code_of(response)) == (503, "plex_unavailable")
    # The deadline plus at most one read's timeout (3 s), not the image's length in 0.2 s.
    assert time.monotonic() - started < 10


@pytest.mark.django_db
def test_half_an_image_is_a_502_and_the_whole_one_is_served_once_plex_is_well(
    friend_api: Client, hostile: HostilePlex, emulator: Emulator, redis_client: redis.Redis
) -> None:
    hostile.set("truncate", path_prefix="/photo")

    broken = friend_api.get(poster_url(emulator))

    assert (broken.status_code, code_of(broken)) == (502, "plex_bad_response")
    assert image_keys(redis_client) == []
    hostile.set("ok")
    whole = friend_api.get(poster_url(emulator))
    assert whole.status_code == 200
    assert whole.content.endswith(b"\xff\xd9")  # a JPEG's end-of-image marker


@pytest.mark.django_db
def test_a_mislabelled_image_is_served_as_what_its_bytes_are(
    friend_api: Client, hostile: HostilePlex, emulator: Emulator
) -> None:
    hostile.set("mislabel", path_prefix="/photo", content_type="image/svg+xml", body="gif")

    response = friend_api.get(poster_url(emulator))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response["X-Content-Type-Options"] == "nosniff"


# -- image sizes and what an image answer tells ---------------------------------------------------


@pytest.mark.django_db
def test_forty_widths_of_one_poster_make_a_handful_of_transcodes(
    friend_api: Client, emulator: Emulator, redis_client: redis.Redis
) -> None:
    widths = range(16, 1317, 33)  # posters, 2:3, from 16 px to 1316 px wide
    assert len(widths) == 40

    for width in widths:
        response = friend_api.get(poster_url(emulator, width=width, height=width * 3 // 2))
        assert response.status_code == 200, (width, response.content[:200])

    assert emulator.stats()["by_path"]["/photo/:/transcode"] == 7
    assert len(image_keys(redis_client)) == 7


@pytest.mark.django_db
def test_an_image_answer_does_not_tell_whether_someone_else_just_viewed_it(
    owner_api: Client, friend_api: Client, emulator: Emulator
) -> None:
    assert owner_api.get(poster_url(emulator)).status_code == 200

    response = friend_api.get(poster_url(emulator))

    assert response.status_code == 200
    assert "X-Cache" not in response
    assert "Age" not in response


@pytest.mark.django_db
def test_a_proxy_that_drops_accept_still_serves_the_api_from_plexs_xml(
    friend_api: Client, hostile: HostilePlex, emulator: Emulator
) -> None:
    # Plex answers XML when Accept is gone: the same answers come out of the API.
    hostile.set("strip_accept")

    libraries = friend_api.get(f"{API}libraries")
    page = friend_api.get(f"{API}libraries/1/items", {"limit": 5})
    item = friend_api.get(f"{API}items/{emulator.library.sections['1'].items[0]['ratingKey']}")

    assert [lib["title"] for lib in libraries.json()] == ["Movies", "TV Shows", "Music"]
    assert page.json()["totalSize"] == len(emulator.library.sections["1"].items)
    assert len(page.json()["items"]) == 5
    assert item.json()["genres"]  # tags come through as from JSON


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["json", "xml"])
@pytest.mark.parametrize("levels", [600, 5000])
def test_an_answer_nested_far_past_any_real_one_is_a_502(
    friend_api: Client, hostile: HostilePlex, body: str, levels: int
) -> None:
    hostile.set("deep", size=levels, body=body)

    response = friend_api.get(f"{API}libraries/1/items")

    assert (response.status_code, code_of(response)) == (502, "plex_bad_response")
