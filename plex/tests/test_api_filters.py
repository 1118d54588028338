"""Filters and Play on Plex through the API: a friend narrows a library to what they want, and
gets exactly what Plex itself (asked through python-plexapi, a client nobody here wrote)
returns for the same filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client
from plexapi.library import LibrarySection
from plexapi.server import PlexServer

from plex_emulator import Emulator

API = "/api/v1/plex/"


@pytest.fixture
def friends_movies(emulator: Emulator) -> Iterator[LibrarySection]:
    with requests.Session() as session:
        server = PlexServer(emulator.url, emulator.friend_token, session=session, timeout=10)
        yield server.library.sectionByID(1)


def get_json(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response.json()


def all_items(client: Client, key: str, **filters: Any) -> list[dict[str, Any]]:
    """Every page of a filtered library, as a script would page through it."""
    items: list[dict[str, Any]] = []
    while True:
        page = get_json(
            client, f"{API}libraries/{key}/items", offset=len(items), limit=100, **filters
        )
        items += page["items"]
        if len(items) >= page["totalSize"] or not page["items"]:
            assert len(items) == page["totalSize"]
            return items


@pytest.mark.django_db
def test_filters_list_plexs_own_choices_with_how_many_each_shows(
    friend_client: Client, friends_movies: LibrarySection
) -> None:
    filters = get_json(friend_client, f"{API}libraries/1/filters")

    assert set(filters) == {"genre", "year", "decade", "contentRating", "unwatched"}
    genres = {choice.title: choice.key for choice in friends_movies.listFilterChoices("genre")}
    assert {c["title"]: c["value"] for c in filters["genre"]} == genres
    for choice in filters["genre"] + filters["decade"] + filters["contentRating"]:
        assert choice["count"] is not None
    comedy = next(c for c in filters["genre"] if c["title"] == "Comedy")
    assert comedy["count"] == len(friends_movies.search(genre=comedy["value"])) > 0
    nineties = next(c for c in filters["decade"] if c["value"] == "1990")
    assert nineties["count"] == len(friends_movies.search(decade=1990)) > 0
    assert filters["unwatched"]["count"] == len(friends_movies.search(unwatched=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters",
    [
        {"genre": "Comedy"},
        {"genre": "Comedy", "decade": 1990},
        {"decade": 1980, "unwatched": True},
        {"contentRating": "PG-13", "unwatched": True},
        {"genre": "Drama", "contentRating": "R", "unwatched": True},
    ],
    ids=lambda filters: "+".join(filters),
)
def test_filtered_items_are_exactly_what_plex_returns_for_the_same_filters(
    friend_client: Client, friends_movies: LibrarySection, filters: dict[str, Any]
) -> None:
    if "genre" in filters:  # the API takes the genre's value, as its filters list it
        choices = get_json(friend_client, f"{API}libraries/1/filters")["genre"]
        genre = next(c for c in choices if c["title"] == filters["genre"])
        filters = {**filters, "genre": genre["value"]}
    expected = [item.ratingKey for item in friends_movies.search(sort="titleSort", **filters)]
    params = {k: ("1" if v is True else v) for k, v in filters.items()}

    found = all_items(friend_client, "1", sort="titleSort:asc", **params)

    assert [item["ratingKey"] for item in found] == [str(key) for key in expected]
    assert expected, "a filter that matches nothing proves nothing"


@pytest.mark.django_db
def test_filters_combine_with_sort_and_paging(
    friend_client: Client, friends_movies: LibrarySection
) -> None:
    expected = [str(i.ratingKey) for i in friends_movies.search(sort="year:desc", unwatched=True)]

    second = get_json(
        friend_client,
        f"{API}libraries/1/items",
        unwatched="1",
        sort="year:desc",
        offset=10,
        limit=10,
    )

    assert second["totalSize"] == len(expected)
    assert [item["ratingKey"] for item in second["items"]] == expected[10:20]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"genre": "999999"}, "genre"),
        ({"genre": "Comedy"}, "genre"),
        ({"year": "1700"}, "year"),
        ({"year": "nineteen"}, "year"),
        ({"decade": "1994"}, "decade"),
        ({"decade": "1890"}, "decade"),
        ({"contentRating": "XXX-99"}, "contentRating"),
        ({"unwatched": "maybe"}, "unwatched"),
    ],
)
def test_a_filter_value_the_library_does_not_have_is_a_400_naming_it(
    friend_client: Client, params: dict[str, str], parameter: str
) -> None:
    response = friend_client.get(f"{API}libraries/1/items", params)

    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(f"{parameter}:")


@pytest.mark.django_db
def test_play_on_plex_is_plex_webs_own_link_to_the_item_without_a_token(
    friend_client: Client, emulator: Emulator
) -> None:
    key = emulator.library.sections["1"].items[0]["ratingKey"]

    item = get_json(friend_client, f"{API}items/{key}")
    listed = get_json(friend_client, f"{API}libraries/1/items", limit=1)["items"][0]

    assert item["playUrl"] == (
        f"https://app.plex.tv/desktop/#!/server/{emulator.machine_identifier}"
        f"/details?key=%2Flibrary%2Fmetadata%2F{key}"
    )
    assert listed["playUrl"].startswith("https://app.plex.tv/desktop/#!/server/")
    assert emulator.friend_token not in item["playUrl"]
