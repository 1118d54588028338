"""python-plexapi, a widely used third-party client, browses the emulator as a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from plexapi.exceptions import NotFound
from plexapi.library import LibraryMediaTag
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


# -- filters, recently added, hubs, on deck and search, for the owner and the friend ----------

UNSHARED = "2"  # "4K Movies": the owner's alone


@pytest.fixture(params=["owner", "friend"])
def as_user(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[tuple[str, PlexServer]]:
    token = emulator.owner_token if request.param == "owner" else emulator.friend_token
    with requests.Session() as session:
        yield request.param, PlexServer(emulator.url, token, session=session, timeout=TIMEOUT)


def _unshared_keys(emulator: Emulator) -> set[str]:
    library = emulator.library
    return {key for key, section in library.section_of.items() if section == UNSHARED}


def _visible_sections(emulator: Emulator, who: str) -> set[str]:
    return {s.key for s in emulator.library.visible_sections(who == "owner")}


def test_list_filters_sorts_and_fields(as_user: tuple[str, PlexServer]) -> None:
    _, server = as_user
    section = server.library.section("Movies")

    filters = [f.filter for f in section.listFilters()]
    sorts = [s.key for s in section.listSorts()]
    fields = {f.key: f.type for f in section.listFields()}

    assert {"genre", "year", "decade", "contentRating", "unwatched", "collection"} <= set(filters)
    assert {"titleSort", "addedAt", "year", "rating"} <= set(sorts)
    assert fields["genre"] == "tag"
    assert fields["year"] == "integer"
    assert fields["unwatched"] == "boolean"
    assert fields["title"] == "string"
    assert {o.key for o in section.listOperators("integer")} == {"=", "!=", ">>=", "<<="}


def test_genre_choices_are_the_library_genres_with_their_ids(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    _, server = as_user
    items = emulator.library.sections["1"].items
    expected = {(str(tag["id"]), tag["tag"]) for item in items for tag in item["Genre"]}

    choices = server.library.section("Movies").listFilterChoices("genre")

    assert {(choice.key, choice.title) for choice in choices} == expected
    assert all(c.fastKey == f"/library/sections/1/all?genre={c.key}" for c in choices)


def test_search_by_genre_unwatched_and_year_returns_exactly_the_matches(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    who, server = as_user
    items = emulator.library.sections["1"].items
    genre = items[3]["Genre"][0]["tag"]
    years = sorted({item["year"] for item in items})[::2]

    found = server.library.section("Movies").search(genre=genre, unwatched=True, year=years)

    expected = {
        item["ratingKey"]
        for item in items
        if genre in {tag["tag"] for tag in item["Genre"]}
        and "viewCount" not in emulator.watch_state(who, item["ratingKey"])
        and item["year"] in years
    }
    assert expected
    assert {str(movie.ratingKey) for movie in found} == expected
    assert len(found) == len(expected)


def test_search_by_decade_content_rating_and_negated_genre(
    server: PlexServer, emulator: Emulator
) -> None:
    section = server.library.section("Movies")
    items = emulator.library.sections["1"].items
    genre = items[0]["Genre"][0]["tag"]

    by_decade = section.search(decade=1990)
    by_rating = section.search(contentRating="PG-13", sort="titleSort:asc")
    without = section.search(**{"genre!": genre})
    later = section.search(**{"year>>": 2000})

    assert {m.year // 10 * 10 for m in by_decade} == {1990}
    assert len(by_decade) == sum(1 for i in items if 1990 <= i["year"] < 2000)
    assert [m.title for m in by_rating] == [
        i["title"]
        for i in sorted(items, key=lambda i: (i["titleSort"], int(i["ratingKey"])))
        if i["contentRating"] == "PG-13"
    ]
    assert len(without) == sum(1 for i in items if genre not in {g["tag"] for g in i["Genre"]})
    assert len(later) == sum(1 for i in items if i["year"] > 2000)


def test_recently_added_gets_everything_through_total_size(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    who, server = as_user
    library = emulator.library
    visible = _visible_sections(emulator, who)
    expected = [item for item in library.recent if library.section_of[item["ratingKey"]] in visible]

    recent = server.library.recentlyAdded()

    assert len(expected) > 100  # more than python-plexapi's page: only totalSize gets them all
    assert [str(item.ratingKey) for item in recent] == [item["ratingKey"] for item in expected]
    assert {item.TYPE for item in recent} == {"movie", "season", "album"}
    added = [item.addedAt for item in recent]
    assert added == sorted(added, reverse=True)
    assert not {str(item.ratingKey) for item in recent} & _unshared_keys(emulator) or who == "owner"


def test_recently_added_seasons_are_at_their_newest_episode(
    server: PlexServer, emulator: Emulator
) -> None:
    library = emulator.library
    season = next(item for item in server.library.recentlyAdded() if item.TYPE == "season")

    episodes = library.children_of[str(season.ratingKey)]

    newest = max(e["addedAt"] for e in episodes)
    assert int(season.addedAt.timestamp()) == newest
    assert season.parentTitle == library.by_key[str(season.parentRatingKey)]["title"]
    assert season.leafCount == len(episodes)


def test_home_and_section_hubs(as_user: tuple[str, PlexServer], emulator: Emulator) -> None:
    who, server = as_user

    home = server.library.hubs()
    movie_hubs = server.library.section("Movies").hubs()
    tv_hubs = server.library.section("TV Shows").hubs()

    identifiers = [hub.hubIdentifier for hub in home]
    assert identifiers[0] == "home.continue"
    assert {"home.movies.recent", "home.television.recent", "home.ondeck"} <= set(identifiers)
    recent_movies = next(hub for hub in home if hub.hubIdentifier == "home.movies.recent")
    assert [i.TYPE for i in recent_movies.items()][:3] == ["movie"] * 3
    assert "movie.recentlyadded.1" in [hub.hubIdentifier for hub in movie_hubs]
    assert "tv.ondeck.3" in [hub.hubIdentifier for hub in tv_hubs]
    keys = {str(i.ratingKey) for hub in home for i in hub.items()}
    assert keys
    assert not keys & _unshared_keys(emulator) or who == "owner"


def test_on_deck_lists_part_watched_items(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    who, server = as_user
    library = emulator.library
    visible = _visible_sections(emulator, who)
    in_progress = {
        key
        for key, state in emulator.watched_keys(who).items()
        if "viewOffset" in state
        and library.section_of[key] in visible
        and library.by_key[key]["type"] == "movie"
    }

    deck = server.library.onDeck()

    keys = {str(item.ratingKey) for item in deck}
    assert in_progress
    assert in_progress <= keys
    assert all(item.viewOffset or item.TYPE == "episode" for item in deck)
    shows = [item.grandparentRatingKey for item in deck if item.TYPE == "episode"]
    assert len(shows) == len(set(shows))  # one episode per show
    assert not keys & _unshared_keys(emulator) or who == "owner"
    if who == "friend":
        assert not keys & _unshared_keys(emulator)


def test_server_search_finds_people_and_their_movies(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    who, server = as_user
    library = emulator.library
    movie = library.sections["1"].items[5]
    actor = movie["Role"][0]

    results = server.search(actor["tag"], limit=50)

    people = [r for r in results if isinstance(r, LibraryMediaTag) and r.tagType == 6]
    assert actor["tag"] in [p.tag for p in people]
    person = next(p for p in people if p.tag == actor["tag"] and p.librarySectionID == 1)
    assert person.id == actor["id"]
    assert person.filter == f"actor={actor['id']}"
    related = [
        r
        for r in results
        if not isinstance(r, LibraryMediaTag) and r.ratingKey == int(movie["ratingKey"])
    ]
    assert related, "the actor's movie comes along"
    keys = {str(r.ratingKey) for r in results if not isinstance(r, LibraryMediaTag)}
    assert not keys & _unshared_keys(emulator) or who == "owner"
    if who == "friend":
        assert all(p.librarySectionID != int(UNSHARED) for p in people)


def test_library_search_for_the_friend_skips_the_unshared_section(emulator: Emulator) -> None:
    title = emulator.library.sections[UNSHARED].items[0]["title"]
    with requests.Session() as session:
        friend = PlexServer(emulator.url, emulator.friend_token, session=session, timeout=TIMEOUT)
        owner = PlexServer(emulator.url, emulator.owner_token, session=session, timeout=TIMEOUT)
        friend_found = friend.library.search(title)
        owner_found = owner.library.search(title)
        friend_hubs = friend.search(title)

    unshared = _unshared_keys(emulator)
    assert {str(i.ratingKey) for i in owner_found} & unshared
    assert not {str(i.ratingKey) for i in friend_found} & unshared
    assert (
        not {str(i.ratingKey) for i in friend_hubs if not isinstance(i, LibraryMediaTag)} & unshared
    )


def test_friend_filters_never_name_the_unshared_section(emulator: Emulator) -> None:
    with requests.Session() as session:
        friend = PlexServer(emulator.url, emulator.friend_token, session=session, timeout=TIMEOUT)
        with pytest.raises(NotFound):
            friend.library.sectionByID(int(UNSHARED))
        response = session.get(
            f"{emulator.url}/library/sections/{UNSHARED}/genre",
            headers={"X-Plex-Token": emulator.friend_token},
            timeout=TIMEOUT,
        )
    assert response.status_code == 404


# -- watch state, per token ------------------------------------------------------------------


@pytest.fixture
def fresh_watch(emulator: Emulator) -> Iterator[None]:
    """Tests that mark items leave the seeded watch state behind them (one emulator per run)."""
    emulator.reset_watch()
    yield
    emulator.reset_watch()


def _other(who: str) -> str:
    return "friend" if who == "owner" else "owner"


def _as(emulator: Emulator, who: str, session: requests.Session) -> PlexServer:
    token = emulator.owner_token if who == "owner" else emulator.friend_token
    return PlexServer(emulator.url, token, session=session, timeout=TIMEOUT)


def _unplayed_by_both(emulator: Emulator, kind: str, section: str) -> dict[str, Any]:
    for item in emulator.library.by_key.values():
        if item["type"] != kind or emulator.library.section_of[item["ratingKey"]] != section:
            continue
        if not any(emulator.watch_state(a, item["ratingKey"]) for a in ("owner", "friend")):
            return item
    raise AssertionError(f"no {kind} unplayed by both")


def _episodes(emulator: Emulator, show_key: str) -> list[dict[str, Any]]:
    children = emulator.library.children_of
    return [e for season in children[show_key] for e in children[season["ratingKey"]]]


def _expected_deck(emulator: Emulator, who: str, section: str | None = None) -> list[str]:
    """On deck computed from the account's raw state and the library's shape: part-watched
    movies and episodes; for a show with some but not all episodes played and none in
    progress, the first unplayed episode after the most recently played one; newest activity
    first, one entry per show."""
    library = emulator.library
    visible = _visible_sections(emulator, who) & ({section} if section else {"1", "2", "3"})
    states = emulator.watched_keys(who)
    found: list[tuple[int, str, str | None]] = []
    for key, state in states.items():
        item = library.by_key[key]
        if (
            "viewOffset" in state
            and item["type"] in {"movie", "episode"}
            and library.section_of[key] in visible
        ):
            found.append((state["lastViewedAt"], key, item.get("grandparentRatingKey")))
    for show in library.sections["3"].items if "3" in visible else []:
        episodes = _episodes(emulator, show["ratingKey"])
        mine = [states.get(e["ratingKey"], {}) for e in episodes]
        played = [i for i, state in enumerate(mine) if "viewCount" in state]
        if any("viewOffset" in state for state in mine) or not 0 < len(played) < len(episodes):
            continue
        latest = max(played, key=lambda i: (mine[i]["lastViewedAt"], i))
        after = [i for i in range(latest + 1, len(episodes)) if "viewCount" not in mine[i]]
        if after:
            last = max(mine[i]["lastViewedAt"] for i in played)
            found.append((last, episodes[after[0]]["ratingKey"], show["ratingKey"]))
    found.sort(key=lambda entry: (-entry[0], int(entry[1])))
    deck, shows = [], set()
    for _, key, show_key in found:
        if show_key is None or show_key not in shows:
            deck.append(key)
            shows.add(show_key)
    return deck


def test_seeded_watch_state_differs_between_owner_and_friend(emulator: Emulator) -> None:
    owner, friend = emulator.watched_keys("owner"), emulator.watched_keys("friend")
    for states in (owner, friend):
        kinds = {(emulator.library.by_key[k]["type"], tuple(sorted(s))) for k, s in states.items()}
        assert ("movie", ("lastViewedAt", "viewCount")) in kinds
        assert ("movie", ("lastViewedAt", "viewOffset")) in kinds
        assert ("episode", ("lastViewedAt", "viewCount")) in kinds
        assert len(states) < len(emulator.library.by_key) // 2  # most unplayed
    assert owner != friend
    assert {k for k, s in owner.items() if "viewCount" in s} != {
        k for k, s in friend.items() if "viewCount" in s
    }


def test_is_watched_and_view_offset_are_the_tokens_own(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    who, server = as_user
    section = server.library.section("Movies")
    movies = {str(m.ratingKey): m for m in section.all()}
    states = {key: emulator.watch_state(who, key) for key in movies}

    assert {k for k, m in movies.items() if m.isWatched} == {
        k for k, s in states.items() if "viewCount" in s
    }
    assert {k: m.viewOffset for k, m in movies.items() if m.viewOffset} == {
        k: s["viewOffset"] for k, s in states.items() if "viewOffset" in s
    }
    assert {k: m.viewCount for k, m in movies.items() if m.viewCount} == {
        k: s["viewCount"] for k, s in states.items() if "viewCount" in s
    }


@pytest.mark.usefixtures("fresh_watch")
@pytest.mark.parametrize("who", ["owner", "friend"])
def test_mark_watched_and_unwatched_change_that_token_alone(emulator: Emulator, who: str) -> None:
    movie = _unplayed_by_both(emulator, "movie", "1")
    with requests.Session() as session:
        mine = _as(emulator, who, session).fetchItem(int(movie["ratingKey"]))
        theirs = _as(emulator, _other(who), session).fetchItem(int(movie["ratingKey"]))
        assert not mine.isWatched

        mine.markWatched()
        mine.reload()
        theirs.reload()
        assert mine.isWatched
        assert mine.viewCount == 1
        assert mine.lastViewedAt is not None
        assert not theirs.isWatched
        assert theirs.lastViewedAt is None
        assert emulator.watch_state(who, movie["ratingKey"])["viewCount"] == 1
        assert emulator.watch_state(_other(who), movie["ratingKey"]) == {}

        mine.markUnwatched()
        mine.reload()
        assert not mine.isWatched
        assert mine.lastViewedAt is None
        assert emulator.watch_state(who, movie["ratingKey"]) == {}


@pytest.mark.usefixtures("fresh_watch")
@pytest.mark.parametrize("who", ["owner", "friend"])
def test_marking_an_episode_moves_its_season_and_show_counts(emulator: Emulator, who: str) -> None:
    episode = _unplayed_by_both(emulator, "episode", "3")
    with requests.Session() as session:
        server = _as(emulator, who, session)
        other = _as(emulator, _other(who), session)
        show = server.fetchItem(int(episode["grandparentRatingKey"]))
        season = server.fetchItem(int(episode["parentRatingKey"]))
        their_season = other.fetchItem(int(episode["parentRatingKey"]))
        before = (show.viewedLeafCount, season.viewedLeafCount, their_season.viewedLeafCount)

        server.fetchItem(int(episode["ratingKey"])).markWatched()
        show.reload()
        season.reload()
        their_season.reload()

        assert show.viewedLeafCount == before[0] + 1
        assert season.viewedLeafCount == before[1] + 1
        assert their_season.viewedLeafCount == before[2]
        assert [s.viewedLeafCount for s in show.seasons()] == [
            emulator.watch_state(who, str(s.ratingKey))["viewedLeafCount"] for s in show.seasons()
        ]
        assert season.viewCount == sum(
            emulator.watch_state(who, e["ratingKey"]).get("viewCount", 0)
            for e in emulator.library.children_of[episode["parentRatingKey"]]
        )


@pytest.mark.usefixtures("fresh_watch")
@pytest.mark.parametrize("who", ["owner", "friend"])
def test_marking_a_show_marks_every_episode(emulator: Emulator, who: str) -> None:
    show_key = emulator.library.sections["3"].items[0]["ratingKey"]
    theirs_before = emulator.watch_state(_other(who), show_key)
    with requests.Session() as session:
        show = _as(emulator, who, session).fetchItem(int(show_key))

        show.markWatched()
        show.reload()
        assert show.isPlayed
        assert show.viewedLeafCount == show.leafCount > 0
        assert all(episode.isWatched for episode in show.episodes())

        show.markUnwatched()
        show.reload()
        assert show.viewedLeafCount == 0
        assert not show.isPlayed
        assert not any(episode.isWatched or episode.viewOffset for episode in show.episodes())
    assert emulator.watch_state(_other(who), show_key) == theirs_before


def test_on_deck_is_exactly_the_tokens_in_progress_and_next_episodes(
    as_user: tuple[str, PlexServer], emulator: Emulator
) -> None:
    who, server = as_user
    expected = _expected_deck(emulator, who)

    deck = server.library.onDeck()

    assert [str(item.ratingKey) for item in deck] == expected
    assert any(item.TYPE == "episode" and not item.viewOffset for item in deck)  # a next one
    assert expected != _expected_deck(emulator, _other(who))
    for section in ("Movies", "TV Shows"):
        key = str(server.library.section(section).key)
        assert [str(i.ratingKey) for i in server.library.section(section).continueWatching()] == (
            _expected_deck(emulator, who, key)
        )
        assert [str(i.ratingKey) for i in server.library.section(section).onDeck()] == (
            _expected_deck(emulator, who, key)
        )


@pytest.mark.usefixtures("fresh_watch")
@pytest.mark.parametrize("who", ["owner", "friend"])
def test_timeline_and_progress_move_the_tokens_deck(emulator: Emulator, who: str) -> None:
    movie = _unplayed_by_both(emulator, "movie", "1")
    with requests.Session() as session:
        server = _as(emulator, who, session)
        item = server.fetchItem(int(movie["ratingKey"]))

        item.updateTimeline(600_000, state="paused")
        assert str(server.library.onDeck()[0].ratingKey) == movie["ratingKey"]  # newest first
        assert server.fetchItem(int(movie["ratingKey"])).viewOffset == 600_000
        assert movie["ratingKey"] not in {
            str(i.ratingKey) for i in _as(emulator, _other(who), session).library.onDeck()
        }

        item.updateProgress(700_000)
        assert emulator.watch_state(who, movie["ratingKey"])["viewOffset"] == 700_000

        item.updateTimeline(movie["duration"] - 60_000, state="stopped")  # past 90%: played
        item.reload()
        assert item.isWatched
        assert not item.viewOffset
        assert movie["ratingKey"] not in {str(i.ratingKey) for i in server.library.onDeck()}


def test_unwatched_search_differs_between_owner_and_friend(emulator: Emulator) -> None:
    with requests.Session() as session:
        found = {
            who: {
                str(m.ratingKey)
                for m in _as(emulator, who, session)
                .library.section("Movies")
                .search(unwatched=True)
            }
            for who in ("owner", "friend")
        }
    for who, keys in found.items():
        assert keys == {
            item["ratingKey"]
            for item in emulator.library.sections["1"].items
            if "viewCount" not in emulator.watch_state(who, item["ratingKey"])
        }
    assert found["owner"] != found["friend"]
