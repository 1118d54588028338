"""The JSON API under /api/v1/plex/ over the real Redis and the Plex emulator: what a user of
MediaNest (or a script of theirs) sees, including while Plex or Redis is down."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import User
from plex.connections import forget_all
from plex.models import ServiceConfig
from plex.services import PlexService
from plex.tests.cached import expire_fresh_copies
from plex.tests.concurrency import run_together
from plex_emulator import Emulator

API = "/api/v1/plex/"
IMAGE_PREFIX = f"{API}image?"
JPEG_MAGIC = b"\xff\xd8\xff"
IMAGE_FIELDS = {"thumb", "art", "parentThumb", "grandparentThumb"}


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def keys(emulator: Emulator) -> dict[str, str]:
    """Rating keys of the emulator's library, read from its data (no request to it)."""
    library = emulator.library
    show = library.sections["3"].items[0]
    season = library.children_of[show["ratingKey"]][0]
    movie = library.sections["1"].items[0]
    uhd = library.sections["2"].items[0]
    return {
        "movie": movie["ratingKey"],
        "movie_thumb": movie["thumb"],
        "show": show["ratingKey"],
        "season": season["ratingKey"],
        "collection": library.sections["1"].collections[0]["ratingKey"],
        "uhd": uhd["ratingKey"],
        "uhd_title": uhd["title"],
        "uhd_thumb": uhd["thumb"],
    }


def every_endpoint(keys: dict[str, str]) -> list[str]:
    """One URL of each endpoint, answerable for the owner."""
    image = f"path={keys['movie_thumb']}&width=200&height=300"
    return [
        f"{API}server",
        f"{API}libraries",
        f"{API}libraries/1/items?offset=0&limit=10&sort=year:desc&includeCollections=1",
        f"{API}libraries/1/collections",
        f"{API}collections/{keys['collection']}/items?offset=0&limit=5",
        f"{API}items/{keys['movie']}",
        f"{API}items/{keys['show']}/children",
        f"{API}search?q=garden&type=movie&limit=10",
        f"{API}recently-added?type=movie&limit=10",
        f"{API}image?{image}",
    ]


def get_json(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (field name, value) pair anywhere in a JSON document."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield name, inner
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk(inner)


def error_of(response: Any) -> dict[str, Any]:
    body = json.loads(response.content)
    assert set(body) >= {"detail", "code"}, body
    return body


# -- every endpoint, documented shapes ------------------------------------------------------


@pytest.mark.django_db
def test_server_answers_the_emulators_name_version_and_identifier(
    owner_client: Client, emulator: Emulator
) -> None:
    server = get_json(owner_client, f"{API}server")

    assert server["name"] == emulator.friendly_name
    assert server["version"] == emulator.version
    assert server["machineIdentifier"] == emulator.machine_identifier


@pytest.mark.django_db
def test_libraries_lists_every_section_the_owner_can_see(owner_client: Client) -> None:
    libraries = get_json(owner_client, f"{API}libraries")

    assert [(lib["key"], lib["title"], lib["type"]) for lib in libraries] == [
        ("1", "Movies", "movie"),
        ("2", "4K Movies", "movie"),
        ("3", "TV Shows", "show"),
        ("4", "Music", "artist"),
    ]


@pytest.mark.django_db
def test_library_items_is_a_page_with_camel_case_fields(
    owner_client: Client, emulator: Emulator
) -> None:
    page = get_json(owner_client, f"{API}libraries/1/items", offset=20, limit=10)

    assert set(page) == {"items", "totalSize", "offset", "limit"}
    assert page["totalSize"] == len(emulator.library.sections["1"].items)
    assert (page["offset"], page["limit"], len(page["items"])) == (20, 10, 10)
    first = page["items"][0]
    assert {"ratingKey", "addedAt", "title", "year", "thumb", "art"} <= set(first)
    assert not any("_" in name for name in first)
    assert first["type"] == "movie"
    assert isinstance(first["addedAt"], int)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["libraries/3/items", "libraries/1/items?includeCollections=1"])
def test_listed_items_say_which_library_they_are_in(owner_client: Client, url: str) -> None:
    # A real /all names the section once, on its container: the API still names it per item.
    key = url.split("/")[1]
    titles = {
        library["key"]: library["title"] for library in get_json(owner_client, f"{API}libraries")
    }

    items = get_json(owner_client, f"{API}{url}")["items"]

    assert items
    assert {(i["librarySectionID"], i["librarySectionTitle"]) for i in items} == {
        (key, titles[key])
    }


@pytest.mark.django_db
def test_library_items_sorted_by_year_descending_really_are(owner_client: Client) -> None:
    page = get_json(owner_client, f"{API}libraries/1/items", limit=100, sort="year:desc")
    ascending = get_json(owner_client, f"{API}libraries/1/items", limit=100, sort="year:asc")

    years = [item["year"] for item in page["items"]]
    assert years == sorted(years, reverse=True)
    assert years[0] > years[-1]
    assert ascending["items"][0]["year"] < years[0]


@pytest.mark.django_db
def test_library_items_include_collections_only_when_asked(
    owner_client: Client, emulator: Emulator
) -> None:
    movies = len(emulator.library.sections["1"].items)
    collections = len(emulator.library.sections["1"].collections)

    plain = get_json(owner_client, f"{API}libraries/1/items", limit=100)
    mixed = get_json(owner_client, f"{API}libraries/1/items", limit=100, includeCollections="1")

    assert plain["totalSize"] == movies
    assert {i["type"] for i in plain["items"]} == {"movie"}
    assert mixed["totalSize"] == movies + collections
    assert set(mixed) == {"items", "totalSize", "offset", "limit"}


@pytest.mark.django_db
def test_library_collections_lists_that_librarys_collections(
    owner_client: Client, emulator: Emulator
) -> None:
    collections = get_json(owner_client, f"{API}libraries/1/collections")

    expected = [c["title"] for c in emulator.library.sections["1"].collections]
    assert [c["title"] for c in collections] == expected
    assert {c["type"] for c in collections} == {"collection"}


@pytest.mark.django_db
def test_collection_items_is_a_page_of_the_collections_members(
    owner_client: Client, emulator: Emulator, keys: dict[str, str]
) -> None:
    page = get_json(owner_client, f"{API}collections/{keys['collection']}/items", limit=2)

    members = emulator.library.collection_items[keys["collection"]]
    assert page["totalSize"] == len(members)
    assert [i["ratingKey"] for i in page["items"]] == [m["ratingKey"] for m in members[:2]]
    assert (page["offset"], page["limit"]) == (0, 2)


@pytest.mark.django_db
def test_item_has_its_details(owner_client: Client, keys: dict[str, str]) -> None:
    item = get_json(owner_client, f"{API}items/{keys['movie']}")

    assert item["ratingKey"] == keys["movie"]
    assert item["type"] == "movie"
    assert item["genres"]
    assert item["librarySectionID"] == "1"


@pytest.mark.django_db
def test_children_of_a_show_are_seasons_and_of_a_season_episodes(
    owner_client: Client, keys: dict[str, str]
) -> None:
    seasons = get_json(owner_client, f"{API}items/{keys['show']}/children")
    episodes = get_json(owner_client, f"{API}items/{keys['season']}/children")

    assert seasons
    assert {s["type"] for s in seasons} == {"season"}
    assert keys["season"] in [s["ratingKey"] for s in seasons]
    assert episodes
    assert {e["type"] for e in episodes} == {"episode"}
    assert {e["parentRatingKey"] for e in episodes} == {keys["season"]}


@pytest.mark.django_db
def test_search_finds_seasons_which_have_no_sort_title(owner_client: Client) -> None:
    # Real seasons carry no titleSort; "³" folds to "3" as Plex matches it.
    for query in ("Season 2", "³"):
        found = get_json(owner_client, f"{API}search", q=query, type="season")

        assert found, query
        assert all(item["type"] == "season" for item in found)


@pytest.mark.django_db
def test_search_finds_titles_across_libraries_of_the_asked_type(owner_client: Client) -> None:
    results = get_json(owner_client, f"{API}search", q="Amélie", type="movie", limit=5)

    assert results[0]["title"] == "Amélie's Garden"
    assert {r["type"] for r in results} == {"movie"}
    assert len(results) <= 5


@pytest.mark.django_db
def test_recently_added_is_newest_first(owner_client: Client) -> None:
    items = get_json(owner_client, f"{API}recently-added", type="movie", limit=10)

    assert len(items) == 10
    assert {i["type"] for i in items} == {"movie"}
    added = [i["addedAt"] for i in items]
    assert added == sorted(added, reverse=True)


@pytest.mark.django_db
def test_an_image_url_from_the_json_returns_a_private_jpeg_with_an_etag(
    owner_client: Client, keys: dict[str, str]
) -> None:
    item = get_json(owner_client, f"{API}items/{keys['movie']}")

    response = owner_client.get(item["thumb"])

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response.content.startswith(JPEG_MAGIC)
    assert "private" in response["Cache-Control"]
    assert response["ETag"]


@pytest.mark.django_db
def test_an_image_asked_again_with_its_etag_is_a_304(
    owner_client: Client, keys: dict[str, str]
) -> None:
    item = get_json(owner_client, f"{API}items/{keys['movie']}")
    first = owner_client.get(item["art"])

    again = owner_client.get(item["art"], headers={"If-None-Match": first["ETag"]})
    changed = owner_client.get(item["art"], headers={"If-None-Match": '"something-else"'})

    assert again.status_code == 304
    assert again.content == b""
    assert changed.status_code == 200


@pytest.mark.django_db
def test_every_collections_poster_is_served(owner_client: Client) -> None:
    # Whichever kind the emulator gave each (a composite with its grid size, or a custom
    # poster); both forms are checked one by one below.
    collections = [
        collection
        for key in ("1", "2", "3")
        for collection in get_json(owner_client, f"{API}libraries/{key}/collections")
    ]
    assert collections

    for collection in collections:
        response = owner_client.get(collection["thumb"])

        assert response.status_code == 200, collection["thumb"]
        assert response.content.startswith(JPEG_MAGIC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form",
    [
        "/library/collections/{key}/composite/1518032983?width=400&height=600",
        "/library/collections/{key}/thumb/1518032983",
        "/library/collections/{key}/art/1518032983",
    ],
)
def test_collection_images_as_real_servers_write_them_are_served(
    owner_client: Client, form: str
) -> None:
    # A real collection's thumb carries the composite's grid size as a query string, and a
    # custom poster is /thumb/: both must pass the path check and come back as images.
    collection = get_json(owner_client, f"{API}libraries/1/collections")[0]
    path = form.format(key=collection["ratingKey"])

    response = owner_client.get(f"{API}image", {"path": path, "width": 300, "height": 450})

    assert response.status_code == 200, response.content
    assert response.content.startswith(JPEG_MAGIC)


# -- where answers come from ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_repeated_request_is_a_hit_with_an_age_and_asks_plex_nothing(
    owner_client: Client, emulator: Emulator
) -> None:
    url = f"{API}libraries/1/items?limit=10&sort=titleSort:asc"
    first = owner_client.get(url)
    asked = emulator.stats()["requests"]

    second = owner_client.get(url)

    assert (first.status_code, first["X-Cache"]) == (200, "MISS")
    assert asked >= 1
    assert (second.status_code, second["X-Cache"]) == (200, "HIT")
    assert int(second["Age"]) >= 0
    assert emulator.stats()["requests"] == asked
    assert second.json() == first.json()


@pytest.mark.django_db
def test_each_endpoint_says_where_its_answer_came_from(
    owner_client: Client, keys: dict[str, str]
) -> None:
    for url in every_endpoint(keys)[:-1]:  # images say nothing: see test_api_hardening.py
        first = owner_client.get(url)
        second = owner_client.get(url)
        assert (url, first["X-Cache"], second["X-Cache"]) == (url, "MISS", "HIT")
        assert "Age" in second, url


# -- images are MediaNest URLs ------------------------------------------------------------------


@pytest.mark.django_db
def test_every_thumb_and_art_in_the_json_is_a_medianest_image_url(
    owner_client: Client, emulator: Emulator, keys: dict[str, str]
) -> None:
    host = urlsplit(emulator.url).netloc
    seen = 0
    for url in every_endpoint(keys)[:-1]:
        text = owner_client.get(url).content.decode()
        assert host not in text, url
        for name, value in walk(json.loads(text)):
            if name in IMAGE_FIELDS and value is not None:
                seen += 1
                assert value.startswith(IMAGE_PREFIX), (url, name, value)
                assert emulator.owner_token not in value
    episodes = owner_client.get(f"{API}items/{keys['season']}/children").json()
    assert episodes[0]["grandparentThumb"].startswith(IMAGE_PREFIX)
    assert seen > 20


# -- isolation -----------------------------------------------------------------------------------


@pytest.fixture
def owner_warmed(owner_client: Client, keys: dict[str, str]) -> Client:
    """The owner's requests have filled the cache, the unshared section included."""
    get_json(owner_client, f"{API}libraries")
    get_json(owner_client, f"{API}search", q=keys["uhd_title"], limit=100)
    get_json(owner_client, f"{API}libraries/2/items", limit=50)
    get_json(owner_client, f"{API}items/{keys['uhd']}")
    response = owner_client.get(f"{API}image", {"path": keys["uhd_thumb"]})
    assert response.status_code == 200
    return owner_client


@pytest.mark.django_db
def test_friend_never_sees_the_unshared_library_even_after_the_owner_warmed_the_cache(
    owner_warmed: Client, friend_client: Client
) -> None:
    libraries = get_json(friend_client, f"{API}libraries")

    assert [lib["title"] for lib in libraries] == ["Movies", "TV Shows", "Music"]


@pytest.mark.django_db
def test_friends_search_never_returns_an_unshared_item_the_owner_found(
    owner_warmed: Client, friend_client: Client, emulator: Emulator, keys: dict[str, str]
) -> None:
    unshared = {item["ratingKey"] for item in emulator.library.sections["2"].items}
    owner_results = get_json(owner_warmed, f"{API}search", q=keys["uhd_title"], limit=100)
    assert keys["uhd"] in [r["ratingKey"] for r in owner_results]

    results = get_json(friend_client, f"{API}search", q=keys["uhd_title"], limit=100)

    assert not unshared & {r["ratingKey"] for r in results}


@pytest.mark.django_db
def test_friend_gets_404_for_the_unshared_librarys_items(
    owner_warmed: Client, friend_client: Client
) -> None:
    response = friend_client.get(f"{API}libraries/2/items", {"limit": 50})

    assert response.status_code == 404
    assert error_of(response)["code"] == "plex_not_found"


@pytest.mark.django_db
def test_friend_gets_404_for_an_unshared_item(
    owner_warmed: Client, friend_client: Client, keys: dict[str, str]
) -> None:
    response = friend_client.get(f"{API}items/{keys['uhd']}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "plex_not_found"


@pytest.mark.django_db
def test_friend_gets_404_for_an_unshared_items_image_the_owner_had_cached(
    owner_warmed: Client, friend_client: Client, keys: dict[str, str]
) -> None:
    response = friend_client.get(f"{API}image", {"path": keys["uhd_thumb"]})

    assert response.status_code == 404
    assert not response.content.startswith(JPEG_MAGIC)


@pytest.mark.django_db
def test_no_redis_key_or_value_holds_a_plex_token(
    owner_warmed: Client,
    friend_client: Client,
    emulator: Emulator,
    redis_client: redis.Redis,
    keys: dict[str, str],
) -> None:
    for url in every_endpoint(keys):
        friend_client.get(url)
    tokens = [emulator.owner_token.encode(), emulator.friend_token.encode()]

    stored = redis_client.keys("*")

    assert any(b"plex:v1" in key for key in stored)
    for key in stored:
        assert not any(token in key for token in tokens), key
        if redis_client.type(key) == b"string":
            value = redis_client.get(key) or b""
            with contextlib.suppress(zlib.error):  # values are stored compressed
                value = zlib.decompress(value)
            assert not any(token in value for token in tokens), key


# -- stale on error ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["status", "reset", "malformed"])
def test_a_page_is_served_stale_while_plex_fails_and_fresh_once_it_is_back(
    owner_client: Client, emulator: Emulator, redis_client: redis.Redis, fault: str
) -> None:
    url = f"{API}libraries/1/items?limit=10&sort=addedAt:desc"
    warm = owner_client.get(url)
    assert warm["X-Cache"] == "MISS"
    emulator.set_fault(fault, status=503)
    expire_fresh_copies()

    stale = owner_client.get(url)

    assert stale.status_code == 200
    assert stale["X-Cache"] == "STALE"
    assert int(stale["Age"]) >= 0
    assert stale.json() == warm.json()

    emulator.clear_fault()
    expire_fresh_copies()
    asked = emulator.stats()["by_path"].get("/library/sections/1/all", 0)
    fresh = owner_client.get(url)

    assert (fresh.status_code, fresh["X-Cache"]) == (200, "MISS")
    assert fresh.json() == warm.json()
    assert emulator.stats()["by_path"]["/library/sections/1/all"] == asked + 1
    assert owner_client.get(url)["X-Cache"] == "HIT"


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["status", "reset"])
def test_plex_failing_with_nothing_cached_is_a_503_with_retry_after(
    owner_client: Client, emulator: Emulator, fault: str
) -> None:
    emulator.set_fault(fault, status=503)

    response = owner_client.get(f"{API}libraries/1/items", {"limit": 10})

    assert response.status_code == 503
    assert error_of(response)["code"] == "plex_unavailable"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_a_broken_answer_with_nothing_cached_is_a_502(
    owner_client: Client, emulator: Emulator
) -> None:
    emulator.set_fault("malformed")

    response = owner_client.get(f"{API}libraries/1/items", {"limit": 10})

    assert response.status_code == 502
    assert error_of(response)["code"] == "plex_bad_response"


@pytest.mark.django_db
def test_an_outage_never_shows_one_users_stale_copy_to_another(
    owner_warmed: Client,
    friend_client: Client,
    emulator: Emulator,
    redis_client: redis.Redis,
) -> None:
    expire_fresh_copies()
    emulator.set_fault("status", status=503)

    response = friend_client.get(f"{API}libraries/2/items", {"limit": 50})
    libraries = friend_client.get(f"{API}libraries")

    assert response.status_code == 503
    assert libraries.status_code == 503


# -- coalescing ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_cold_requests_ask_plex_once(
    live_server: Any, config: ServiceConfig, owner: User, emulator: Emulator, settings: Any
) -> None:
    settings.PLEX_CONCURRENCY = 20  # all twenty may wait on Plex (the bulkhead is tested apart)
    token = Token.objects.create(user=owner).key
    emulator.set_fault("latency", delay_ms=300, path_prefix="/library/sections/1/all")
    url = f"{live_server.url}{API}libraries/1/items?offset=0&limit=50"
    sessions = [requests.Session() for _ in range(20)]
    for session in sessions:
        session.headers["Authorization"] = f"Token {token}"

    responses = run_together(count=20, call=lambda i: sessions[i].get(url, timeout=30))

    for session in sessions:
        session.close()
    assert all(isinstance(r, requests.Response) for r in responses), responses
    assert [r.status_code for r in responses] == [200] * 20
    assert len({r.content for r in responses}) == 1
    assert emulator.stats()["by_path"]["/library/sections/1/all"] == 1
    assert sorted(r.headers["X-Cache"] for r in responses).count("MISS") == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_cold_service_calls_ask_plex_once(
    config: ServiceConfig, owner: User, emulator: Emulator, settings: Any
) -> None:
    settings.PLEX_CONCURRENCY = 20  # all twenty may wait on Plex (the bulkhead is tested apart)
    emulator.set_fault("latency", delay_ms=300, path_prefix="/library/sections/1/all")

    results = run_together(
        count=20, call=lambda i: PlexService(config, owner).library_items("1", 0, 50)
    )

    assert all(not isinstance(r, Exception) for r in results), results
    assert len({tuple(item.rating_key for item in r.value.items) for r in results}) == 1
    assert emulator.stats()["by_path"]["/library/sections/1/all"] == 1


# -- Redis down ----------------------------------------------------------------------------------


@pytest.fixture
def redis_stopped(settings: Any, config: ServiceConfig, unused_tcp_port: int) -> None:
    """The app's cache points at a port nothing listens on, as when Redis is stopped."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    forget_all()


@pytest.mark.django_db
def test_with_redis_stopped_the_api_still_answers_from_plex_and_warns(
    redis_stopped: None,
    owner_client: Client,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"{API}libraries/1/items?limit=10"

    with caplog.at_level(logging.WARNING):
        first = owner_client.get(url)
        second = owner_client.get(url)

    assert [first.status_code, second.status_code] == [200, 200]
    assert [first["X-Cache"], second["X-Cache"]] == ["MISS", "MISS"]
    assert first.json() == second.json()
    assert emulator.stats()["by_path"]["/library/sections/1/all"] == 2
    assert any(
        record.name == "plex.cache" and record.levelno == logging.WARNING
        for record in caplog.records
    )


@pytest.mark.django_db
def test_with_redis_stopped_healthz_reports_the_cache_but_stays_up(
    redis_stopped: None, client: Client
) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["cache"] == "unavailable"
    assert response.json()["status"] == "ok"


# -- validation -----------------------------------------------------------------------------------

BAD_PARAMETERS = [
    ("libraries/1/items", {"limit": "0"}, "limit"),
    ("libraries/1/items", {"limit": "101"}, "limit"),
    ("libraries/1/items", {"offset": "-1"}, "offset"),
    ("libraries/1/items", {"sort": "bogus"}, "sort"),
    ("libraries/1/items", {"includeCollections": "maybe"}, "includeCollections"),
    ("collections/1001/items", {"limit": "0"}, "limit"),
    ("search", {"q": "garden", "type": "bogus"}, "type"),
    ("search", {"q": "garden", "limit": "101"}, "limit"),
    ("search", {}, "q"),
    ("search", {"q": ""}, "q"),
    ("search", {"q": "   "}, "q"),
    ("search", {"q": "x" * 201}, "q"),
    ("recently-added", {"type": "bogus"}, "type"),
    ("recently-added", {"limit": "0"}, "limit"),
    ("image", {"path": "/library/metadata/1001/thumb/1", "width": "100000"}, "width"),
    ("image", {"path": "/library/metadata/1001/thumb/1", "height": "100000"}, "height"),
    ("image", {}, "path"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "query", "parameter"), BAD_PARAMETERS)
def test_an_invalid_parameter_is_a_400_that_names_it(
    owner_client: Client, emulator: Emulator, endpoint: str, query: dict[str, str], parameter: str
) -> None:
    response = owner_client.get(f"{API}{endpoint}", query)

    assert response.status_code == 400
    body = error_of(response)
    assert body["code"] == "invalid"
    assert body["detail"].startswith(f"{parameter}:"), body
    assert emulator.stats()["requests"] == 0


IMAGE_ATTACKS = [
    "http://evil.example/x.jpg",
    "https://evil.example/library/metadata/1001/thumb/1",
    "/library/metadata/1/thumb/../../../:/prefs",
    "/library/metadata/1001/thumb/1/../../../../:/prefs",
    "/:/prefs",
    "//evil/x",
    "/library/metadata/abc/thumb/1",
    "/photo/:/transcode?url=/",
    "/library/metadata/1001/thumb/1?X-Plex-Token=x",
    "/library/metadata/1001/thumb/1\n/:/prefs",
    "/library/sections/1/all",
    "/library/collections/1/composite/1?width=400&height=600&X-Plex-Token=x",
    "/library/collections/1/composite/1?url=http://evil.example/x.jpg",
    "/library/collections/1/composite/1?width=400",
    "/library/collections/1/children",
    "/library/metadata/1001/theme/1",
    "/library/sections/1/composite/1",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", IMAGE_ATTACKS)
def test_an_image_path_that_is_not_a_plex_library_image_is_refused(
    owner_client: Client, emulator: Emulator, path: str
) -> None:
    response = owner_client.get(f"{API}image", {"path": path})

    assert response.status_code == 400
    assert error_of(response)["detail"].startswith("path:")
    assert emulator.stats()["requests"] == 0


@pytest.mark.django_db
def test_huge_image_sizes_are_refused(owner_client: Client, keys: dict[str, str]) -> None:
    response = owner_client.get(
        f"{API}image", {"path": keys["movie_thumb"], "width": 100000, "height": 100000}
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_well_formed_image_path_of_a_missing_item_is_a_404(owner_client: Client) -> None:
    response = owner_client.get(f"{API}image", {"path": "/library/metadata/999999/thumb/1"})

    assert response.status_code == 404
    assert error_of(response)["code"] == "plex_not_found"


# -- not found ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [
        "libraries/999/items",
        "libraries/999/collections",
        "items/999999",
        "items/999999/children",
        "collections/999999/items",
        "libraries/abc/items",
        "items/abc",
        "items/1.5",
    ],
)
def test_an_unknown_library_or_item_is_a_404(owner_client: Client, endpoint: str) -> None:
    response = owner_client.get(f"{API}{endpoint}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "plex_not_found"


# -- who may ask ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_requests_are_refused_on_every_endpoint(
    config: ServiceConfig, client: Client, emulator: Emulator, keys: dict[str, str]
) -> None:
    for url in every_endpoint(keys):
        response = client.get(url)
        assert response.status_code in (401, 403), (url, response.status_code)
        assert b"plex_" not in response.content
    assert emulator.stats()["requests"] == 0


@pytest.mark.django_db
def test_an_api_token_in_the_authorization_header_is_accepted(
    config: ServiceConfig, owner: User, client: Client
) -> None:
    token = Token.objects.create(user=owner)

    response = client.get(f"{API}libraries", headers={"Authorization": f"Token {token.key}"})
    wrong = client.get(f"{API}libraries", headers={"Authorization": "Token not-a-real-key"})

    assert response.status_code == 200
    assert len(response.json()) == 4
    assert wrong.status_code in (401, 403)


@pytest.mark.django_db
def test_a_user_without_a_plex_token_is_asked_to_sign_in_with_plex(
    config: ServiceConfig, client: Client
) -> None:
    client.force_login(User.objects.create(username="staff-only"))

    response = client.get(f"{API}libraries")

    assert response.status_code == 403
    assert error_of(response)["code"] == "plex_token_missing"


@pytest.mark.django_db
def test_without_a_configured_server_the_api_says_so(
    redis_cache: str, owner: User, client: Client
) -> None:
    client.force_login(owner)

    response = client.get(f"{API}libraries")

    assert response.status_code == 503
    assert error_of(response)["code"] == "plex_not_configured"


@pytest.mark.django_db
def test_a_token_plex_rejects_is_marked_invalid_for_that_user_alone(
    config: ServiceConfig, owner_client: Client, client: Client
) -> None:
    revoked = User.objects.create(username="revoked", plex_token="revoked-token-1234567890")
    client.force_login(revoked)

    response = client.get(f"{API}libraries")
    again = client.get(f"{API}server")

    assert response.status_code == 403
    assert error_of(response)["code"] == "plex_token_invalid"
    assert (again.status_code, error_of(again)["code"]) == (403, "plex_token_invalid")
    revoked.refresh_from_db()
    assert revoked.plex_token_invalid is True
    assert owner_client.get(f"{API}libraries").status_code == 200
    assert User.objects.get(username="owner").plex_token_invalid is False


# -- health, schema, docs -------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_database_cache_and_circuit_without_auth_or_secrets(
    config: ServiceConfig, owner: User, client: Client, emulator: Emulator
) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "plex": "closed",
        "events": "off",
        "events_last_event_age": None,
    }
    assert emulator.owner_token.encode() not in response.content


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_items_endpoint(client: Client) -> None:
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/plex/libraries/{key}/items" in schema["paths"]
    parameters = schema["paths"]["/api/v1/plex/libraries/{key}/items"]["get"]["parameters"]
    assert {"offset", "limit", "sort", "includeCollections"} <= {p["name"] for p in parameters}


@pytest.mark.django_db
def test_the_api_docs_load_no_script_or_style_from_another_host(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger" in html.lower()
    outside = re.findall(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", html)
    assert outside == []


# -- tokens never leave ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_plex_token_never_appears_in_any_response(
    owner_client: Client, friend_client: Client, emulator: Emulator, keys: dict[str, str]
) -> None:
    for client, token in [
        (owner_client, emulator.owner_token),
        (friend_client, emulator.friend_token),
    ]:
        for url in every_endpoint(keys):
            for response in (client.get(url), client.get(url)):
                assert response.status_code == 200, (url, response.status_code)
                assert token.encode() not in response.content, url
                for name, value in response.items():
                    assert token not in value, (url, name)
