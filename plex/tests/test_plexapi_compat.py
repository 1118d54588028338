"""python-plexapi, a widely used third-party client, browses the emulator as a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from plexapi.server import PlexServer

from plex_emulator import Emulator

TIMEOUT = 10


@pytest.fixture
def server(emulator: Emulator) -> Iterator[PlexServer]:
    with requests.Session() as session:
        yield PlexServer(emulator.url, emulator.owner_token, session=session, timeout=TIMEOUT)


def _total_size(emulator: Emulator, section_key: str, **params: Any) -> int:
    response = requests.get(
        f"{emulator.url}/library/sections/{section_key}/all",
        headers={"Accept": "application/json", "X-Plex-Token": emulator.owner_token},
        params={"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0, **params},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    return response.json()["MediaContainer"]["totalSize"]


def test_server_identity(server: PlexServer, emulator: Emulator) -> None:
    assert server.friendlyName == emulator.friendly_name
    assert server.machineIdentifier == emulator.machine_identifier
    assert server.version == emulator.version


def test_sections_match_the_emulator(server: PlexServer, emulator: Emulator) -> None:
    sections = server.library.sections()

    assert [s.title for s in sections] == [s.title for s in emulator.library.sections.values()]
    assert [s.type for s in sections] == ["movie", "movie", "show", "artist"]


def test_section_all_pages_through_everything(server: PlexServer, emulator: Emulator) -> None:
    section = server.library.section("Movies")

    movies = section.all(container_size=50)

    expected = _total_size(emulator, "1")
    assert expected == len(emulator.library.sections["1"].items) > 50
    assert len(movies) == expected
    assert len({movie.ratingKey for movie in movies}) == expected
    assert section.totalSize == expected
    assert emulator.stats()["by_path"]["/library/sections/1/all"] > expected // 50


def test_section_search_finds_the_accented_title(server: PlexServer) -> None:
    section = server.library.section("Movies")

    assert "Amélie's Garden" in [movie.title for movie in section.search("amelie")]
    assert "Amélie's Garden" in [movie.title for movie in section.search(title="Amélie")]


def test_server_search_finds_the_movie(server: PlexServer) -> None:
    results = server.search("amelie")

    assert "Amélie's Garden" in [item.title for item in results]
    movie = next(item for item in results if item.title == "Amélie's Garden")
    assert movie.TYPE == "movie"
    assert movie.year


def test_collections_count(server: PlexServer, emulator: Emulator) -> None:
    section = server.library.section("Movies")

    collections = section.collections()

    assert len(collections) == len(emulator.library.sections["1"].collections)
    first = collections[0]
    assert len(first.items()) == first.childCount > 0


def test_recently_added_is_not_empty(server: PlexServer) -> None:
    recent = server.library.recentlyAdded()

    assert recent
    added = [item.addedAt for item in recent]
    assert added == sorted(added, reverse=True)


def test_seasons_and_episodes_match_the_library(server: PlexServer, emulator: Emulator) -> None:
    library = emulator.library
    section = server.library.section("TV Shows")
    shows = section.all()

    assert section.totalSize == len(shows) == len(library.sections["3"].items)
    for show in shows:
        seasons = show.seasons()
        expected_seasons = library.children_of[str(show.ratingKey)]
        assert len(seasons) == len(expected_seasons)
        for season in seasons:
            expected = library.children_of[str(season.ratingKey)]
            assert len(season.episodes()) == len(expected)
        assert len(show.episodes()) == library.by_key[str(show.ratingKey)]["leafCount"]


def test_movie_details_load(server: PlexServer, emulator: Emulator) -> None:
    item = emulator.library.sections["1"].items[0]

    movie = server.fetchItem(int(item["ratingKey"]))

    assert movie.title == item["title"]
    assert [genre.tag for genre in movie.genres] == [genre["tag"] for genre in item["Genre"]]
    assert movie.media[0].parts[0].file == item["Media"][0]["Part"][0]["file"]
    assert movie.duration == item["duration"]


def test_unshared_section_is_hidden_from_the_friend(emulator: Emulator) -> None:
    with requests.Session() as session:
        friend = PlexServer(emulator.url, emulator.friend_token, session=session, timeout=TIMEOUT)
        titles = [section.title for section in friend.library.sections()]

    assert "Movies" in titles
    assert "4K Movies" not in titles


def test_section_recently_added_is_newest_first(server: PlexServer, emulator: Emulator) -> None:
    section = server.library.section("Movies")

    recent = section.recentlyAdded(maxresults=10)

    newest = sorted(emulator.library.sections["1"].items, key=lambda item: -item["addedAt"])
    assert [movie.title for movie in recent] == [item["title"] for item in newest[:10]]


def test_sorted_search_with_a_limit(server: PlexServer, emulator: Emulator) -> None:
    section = server.library.section("Movies")

    top = section.search(sort="rating:desc", maxresults=5)

    best = max(item["rating"] for item in emulator.library.sections["1"].items)
    ratings = [movie.rating for movie in top]
    assert len(top) == 5
    assert ratings[0] == best
    assert ratings == sorted(ratings, reverse=True)


def test_search_by_year(server: PlexServer, emulator: Emulator) -> None:
    section = server.library.section("Movies")
    year = emulator.library.sections["1"].items[0]["year"]

    found = section.search(year=year)

    expected = [item for item in emulator.library.sections["1"].items if item["year"] == year]
    assert len(found) == len(expected) > 0
    assert {movie.year for movie in found} == {year}


def test_episodes_of_a_tv_section(server: PlexServer, emulator: Emulator) -> None:
    section = server.library.section("TV Shows")

    episodes = section.searchEpisodes()

    expected = sum(1 for item in emulator.library.by_key.values() if item["type"] == "episode")
    assert len(episodes) == expected
    assert {episode.TYPE for episode in episodes} == {"episode"}


def test_library_wide_search(server: PlexServer) -> None:
    found = server.library.search("amelie")

    assert [item.title for item in found] == ["Amélie's Garden"]
