"""The emulator's behaviour over real sockets: browsing, sharing, search, images, faults, stats."""

from __future__ import annotations

import io
import re
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from plex_emulator import Emulator

TIMEOUT = 10
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _get(
    emulator: Emulator,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    session: requests.Session | None = None,
    **params: Any,
) -> requests.Response:
    sent = {"Accept": "application/json", "X-Plex-Token": token or emulator.owner_token}
    sent.update(headers or {})
    getter = session.get if session is not None else requests.get
    return getter(f"{emulator.url}{path}", headers=sent, params=params, timeout=TIMEOUT)


def _body(emulator: Emulator, path: str, **kwargs: Any) -> dict[str, Any]:
    response = _get(emulator, path, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()["MediaContainer"]


def _items(emulator: Emulator, path: str, **kwargs: Any) -> list[dict[str, Any]]:
    return _body(emulator, path, **kwargs).get("Metadata", [])


def _control(emulator: Emulator, action: str, payload: dict[str, Any] | None = None) -> Any:
    url = f"{emulator.url}/__emulator__/{action}"
    if payload is None and action == "stats":
        response = requests.get(url, timeout=TIMEOUT)
    else:
        response = requests.post(url, json=payload, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def _uhd_item(emulator: Emulator) -> dict[str, Any]:
    return emulator.library.sections["2"].items[0]


# -- browsing ---------------------------------------------------------------------------------


def test_paging_by_header_and_by_query_give_the_same_page(emulator: Emulator) -> None:
    by_header = _body(
        emulator,
        "/library/sections/1/all",
        headers={"X-Plex-Container-Start": "20", "X-Plex-Container-Size": "15"},
    )
    by_query = _body(
        emulator,
        "/library/sections/1/all",
        **{"X-Plex-Container-Start": 20, "X-Plex-Container-Size": 15},
    )
    everything = _items(emulator, "/library/sections/1/all")

    keys = [item["ratingKey"] for item in by_header["Metadata"]]
    assert keys == [item["ratingKey"] for item in by_query["Metadata"]]
    assert keys == [item["ratingKey"] for item in everything[20:35]]
    assert by_header["offset"] == by_query["offset"] == 20
    assert by_header["totalSize"] == len(everything) == len(emulator.library.sections["1"].items)


def test_pages_cover_the_section_without_overlap(emulator: Emulator) -> None:
    total = len(emulator.library.sections["1"].items)
    seen: list[str] = []
    for start in range(0, total, 50):
        page = _items(
            emulator,
            "/library/sections/1/all",
            **{"X-Plex-Container-Start": start, "X-Plex-Container-Size": 50},
        )
        seen += [item["ratingKey"] for item in page]
    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize(
    ("sort", "field", "descending"),
    [
        ("titleSort:asc", "titleSort", False),
        ("titleSort:desc", "titleSort", True),
        ("addedAt:desc", "addedAt", True),
        ("year:desc", "year", True),
        ("rating:desc", "rating", True),
    ],
)
def test_sort_orders_the_items(emulator: Emulator, sort: str, field: str, descending: bool) -> None:
    items = _items(emulator, "/library/sections/1/all", sort=sort)

    values = [item[field] for item in items]
    assert len(values) == len(emulator.library.sections["1"].items)
    assert values == sorted(values, reverse=descending)
    assert len(set(values)) > 1  # a real order, not a constant


def test_sorts_give_different_first_items(emulator: Emulator) -> None:
    firsts = {
        _items(emulator, "/library/sections/1/all", sort=sort)[0]["ratingKey"]
        for sort in ("titleSort:asc", "titleSort:desc", "addedAt:desc", "year:desc")
    }
    assert len(firsts) > 1


def test_type_4_on_the_tv_section_lists_episodes(emulator: Emulator) -> None:
    library = emulator.library
    expected = sum(1 for item in library.by_key.values() if item["type"] == "episode")

    body = _body(emulator, "/library/sections/3/all", type=4)

    assert body["totalSize"] == expected
    assert {item["type"] for item in body["Metadata"]} == {"episode"}
    shows = _items(emulator, "/library/sections/3/all")
    assert {item["type"] for item in shows} == {"show"}


def test_include_collections_mixes_collections_in(emulator: Emulator) -> None:
    section = emulator.library.sections["1"]
    without = _body(emulator, "/library/sections/1/all")
    mixed = _body(emulator, "/library/sections/1/all", includeCollections=1)

    assert "collection" not in {item["type"] for item in without["Metadata"]}
    assert mixed["totalSize"] == len(section.items) + len(section.collections)
    kinds = [item["type"] for item in mixed["Metadata"]]
    assert kinds.count("collection") == len(section.collections)
    titles = [item["titleSort"] for item in mixed["Metadata"]]
    assert titles == sorted(titles)  # mixed in by title, not appended


# -- sharing ----------------------------------------------------------------------------------


def test_owner_sees_the_unshared_section_and_friend_does_not(emulator: Emulator) -> None:
    owner = _body(emulator, "/library/sections")["Directory"]
    friend = _body(emulator, "/library/sections", token=emulator.friend_token)["Directory"]

    assert "4K Movies" in [section["title"] for section in owner]
    assert "2" in [section["key"] for section in owner]
    assert "4K Movies" not in [section["title"] for section in friend]
    assert {section["key"] for section in friend} == {"1", "3", "4"}


def test_friend_gets_404_for_the_unshared_section_and_its_items(emulator: Emulator) -> None:
    item = _uhd_item(emulator)
    friend = emulator.friend_token

    assert _get(emulator, "/library/sections/2/all").status_code == 200
    assert _get(emulator, "/library/sections/2/all", token=friend).status_code == 404
    assert _get(emulator, item["key"]).status_code == 200
    assert _get(emulator, item["key"], token=friend).status_code == 404
    collection = emulator.library.sections["2"].collections[0]
    assert _get(emulator, collection["key"], token=friend).status_code == 404


def test_friend_searches_do_not_find_unshared_items(emulator: Emulator) -> None:
    item = _uhd_item(emulator)

    def found(token: str) -> set[str]:
        hubs = _body(emulator, "/hubs/search", token=token, query=item["title"], limit=100)["Hub"]
        return {entry["ratingKey"] for hub in hubs for entry in hub.get("Metadata", [])}

    assert item["ratingKey"] in found(emulator.owner_token)
    assert item["ratingKey"] not in found(emulator.friend_token)


def test_friend_recently_added_has_no_unshared_items(emulator: Emulator) -> None:
    uhd = {item["ratingKey"] for item in emulator.library.sections["2"].items}
    paging = {"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 5000}

    owner = _items(emulator, "/library/recentlyAdded", **paging)
    friend = _items(emulator, "/library/recentlyAdded", token=emulator.friend_token, **paging)

    assert uhd & {item["ratingKey"] for item in owner}
    assert not uhd & {item["ratingKey"] for item in friend}
    assert all(item["librarySectionID"] != 2 for item in friend)
    added = [item["addedAt"] for item in friend]
    assert added == sorted(added, reverse=True)  # newest first


def test_friend_cannot_fetch_unshared_images(emulator: Emulator) -> None:
    thumb = _uhd_item(emulator)["thumb"]
    params = {"url": thumb, "width": 120, "height": 180}

    owner = _get(emulator, "/photo/:/transcode", **params)
    friend = _get(emulator, "/photo/:/transcode", token=emulator.friend_token, **params)

    assert owner.status_code == 200
    assert owner.headers["Content-Type"] == "image/jpeg"
    assert friend.status_code == 404
    assert friend.headers["Content-Type"].startswith("text/html")
    assert _get(emulator, thumb, token=emulator.friend_token).status_code == 404


# -- search -----------------------------------------------------------------------------------


def _search_titles(emulator: Emulator, query: str) -> list[str]:
    hubs = _body(emulator, "/hubs/search", query=query)["Hub"]
    return [entry["title"] for hub in hubs for entry in hub.get("Metadata", [])]


def test_search_ignores_accents_and_case(emulator: Emulator) -> None:
    assert "Amélie's Garden" in _search_titles(emulator, "amelie")
    assert "Amélie's Garden" in _search_titles(emulator, "AMÉLIE")


def test_search_survives_ampersands(emulator: Emulator) -> None:
    titles = _search_titles(emulator, "Léon & Mathilda")

    assert titles[0] == "Léon & Mathilda"


def test_search_results_carry_a_score_and_respect_the_limit(emulator: Emulator) -> None:
    hubs = _body(emulator, "/hubs/search", query="the", limit=2)["Hub"]
    movies = next(hub for hub in hubs if hub["type"] == "movie")

    assert len(movies["Metadata"]) == movies["size"] == 2
    assert all(float(entry["score"]) > 0 for entry in movies["Metadata"])


# -- shows, seasons, episodes, collections ---------------------------------------------------


def test_show_seasons_and_episodes_by_children(emulator: Emulator) -> None:
    library = emulator.library
    show = library.sections["3"].items[0]

    seasons = _items(
        emulator, f"/library/metadata/{show['ratingKey']}/children", excludeAllLeaves=1
    )
    assert [season["type"] for season in seasons] == ["season"] * show["childCount"]
    assert [season["index"] for season in seasons] == list(range(1, len(seasons) + 1))

    episodes = 0
    for season in seasons:
        children = _items(emulator, season["key"])
        assert {child["type"] for child in children} == {"episode"}
        assert all(child["parentRatingKey"] == season["ratingKey"] for child in children)
        assert all(child["grandparentRatingKey"] == show["ratingKey"] for child in children)
        assert len(children) == season["leafCount"]
        episodes += len(children)
    assert episodes == show["leafCount"]


def test_show_children_start_with_all_episodes_unless_excluded(emulator: Emulator) -> None:
    show = emulator.library.sections["3"].items[0]
    path = f"/library/metadata/{show['ratingKey']}/children"

    with_all = _items(emulator, path)
    without = _items(emulator, path, excludeAllLeaves=1)

    assert with_all[0]["title"] == "All episodes"
    assert len(with_all) == len(without) + 1
    assert "All episodes" not in [season["title"] for season in without]
    leaves = _body(emulator, with_all[0]["key"])
    assert leaves["totalSize"] == show["leafCount"]


def test_collections_and_their_children(emulator: Emulator) -> None:
    section = emulator.library.sections["1"]
    collections = _items(emulator, "/library/sections/1/collections")

    assert [c["title"] for c in collections] == [c["title"] for c in section.collections]
    assert {c["type"] for c in collections} == {"collection"}
    movie_keys = {item["ratingKey"] for item in section.items}
    for collection in collections:
        children = _items(emulator, collection["key"])
        assert len(children) == int(collection["childCount"]) > 0
        assert {child["ratingKey"] for child in children} <= movie_keys


# -- images -----------------------------------------------------------------------------------


def test_transcode_returns_a_jpeg_of_the_asked_size(emulator: Emulator) -> None:
    thumb = emulator.library.sections["1"].items[0]["thumb"]

    response = _get(emulator, "/photo/:/transcode", url=thumb, width=120, height=180)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG"
    assert image.size == (120, 180)


def test_every_thumb_of_a_page_is_fetchable(emulator: Emulator) -> None:
    page = _items(
        emulator,
        "/library/sections/1/all",
        **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 12},
    )
    collections = _items(emulator, "/library/sections/1/collections")
    with requests.Session() as session:
        for item in [*page, *collections]:
            response = _get(
                emulator, "/photo/:/transcode", session=session, url=item["thumb"], width=60
            )
            assert response.status_code == 200, item["thumb"]
            assert Image.open(io.BytesIO(response.content)).width == 60


# -- faults -----------------------------------------------------------------------------------


def test_status_fault_answers_with_an_html_error(emulator: Emulator) -> None:
    _control(emulator, "fault", {"mode": "status", "status": 503})

    response = _get(emulator, "/library/sections")

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>503 Service Unavailable</h1>" in response.text
    _control(emulator, "fault", {"mode": "ok"})
    assert _get(emulator, "/library/sections").status_code == 200


def test_latency_fault_delays_the_answer(emulator: Emulator) -> None:
    _control(emulator, "fault", {"mode": "latency", "delay_ms": 300})

    started = time.monotonic()
    response = _get(emulator, "/identity")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.3


def test_reset_fault_drops_the_connection(emulator: Emulator) -> None:
    _control(emulator, "fault", {"mode": "reset"})

    with pytest.raises(requests.ConnectionError):
        _get(emulator, "/library/sections")


def test_malformed_fault_truncates_the_body(emulator: Emulator) -> None:
    _control(emulator, "fault", {"mode": "malformed"})

    response = _get(emulator, "/library/sections")

    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_path_prefix_limits_the_fault(emulator: Emulator) -> None:
    _control(emulator, "fault", {"mode": "status", "status": 500, "path_prefix": "/hubs"})

    assert _get(emulator, "/hubs/search", query="amelie").status_code == 500
    assert _get(emulator, "/library/sections").status_code == 200
    assert _get(emulator, "/identity").status_code == 200


def test_an_invalid_fault_is_refused(emulator: Emulator) -> None:
    response = requests.post(
        f"{emulator.url}/__emulator__/fault", json={"mode": "explode"}, timeout=TIMEOUT
    )

    assert response.status_code == 400
    assert _get(emulator, "/library/sections").status_code == 200


def test_control_endpoints_are_never_faulted_nor_counted(emulator: Emulator) -> None:
    _control(emulator, "fault", {"mode": "status", "status": 503})

    assert _get(emulator, "/identity").status_code == 503
    stats = _control(emulator, "stats")
    assert stats["requests"] == 1
    assert stats["by_path"] == {"/identity": 1}
    fault = requests.get(f"{emulator.url}/__emulator__/fault", timeout=TIMEOUT)
    assert fault.status_code == 200
    assert fault.json()["mode"] == "status"
    assert _control(emulator, "stats")["requests"] == 1


# -- statistics -------------------------------------------------------------------------------


def test_stats_count_requests_by_path(emulator: Emulator) -> None:
    _get(emulator, "/library/sections")
    _get(emulator, "/library/sections")
    _get(emulator, "/identity")

    stats = _control(emulator, "stats")

    assert stats["requests"] == 3
    assert stats["by_path"] == {"/library/sections": 2, "/identity": 1}


def test_one_session_uses_one_connection(emulator: Emulator) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert _get(emulator, "/library/sections", session=session).status_code == 200

    stats = _control(emulator, "stats")
    assert stats["requests"] == 3
    assert stats["connections"] == 1


def test_separate_connections_are_counted(emulator: Emulator) -> None:
    for _ in range(3):
        with requests.Session() as session:
            assert _get(emulator, "/library/sections", session=session).status_code == 200

    assert _control(emulator, "stats")["connections"] == 3


def test_stats_reset_zeroes(emulator: Emulator) -> None:
    _get(emulator, "/library/sections")
    assert _control(emulator, "stats")["requests"] == 1

    reset = _control(emulator, "stats/reset")

    assert reset == {
        "requests": 0,
        "by_path": {},
        "connections": 0,
        "in_flight": 0,
        "in_flight_max": 0,
    }
    assert _control(emulator, "stats") == reset


# -- running it -------------------------------------------------------------------------------


def test_command_line_prints_its_url_and_serves() -> None:
    command = [
        sys.executable,
        "-m",
        "plex_emulator",
        "--port",
        "0",
        "--movies",
        "5",
        "--shows",
        "1",
        "--owner-token",
        "cli-owner-token",
    ]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=20), "the emulator printed nothing"
        first_line = process.stdout.readline()
        match = re.search(r"(http://[\w.]+:(\d+))", first_line)
        assert match, first_line
        assert int(match.group(2)) > 0

        identity = requests.get(
            f"{match.group(1)}/identity", headers={"Accept": "application/json"}, timeout=TIMEOUT
        )
        assert identity.status_code == 200
        assert identity.json()["MediaContainer"]["machineIdentifier"]
        sections = requests.get(
            f"{match.group(1)}/library/sections",
            headers={"Accept": "application/json", "X-Plex-Token": "cli-owner-token"},
            timeout=TIMEOUT,
        )
        assert sections.status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


def test_a_20000_movie_library_serves_page_2() -> None:
    with Emulator(
        owner_token="big-owner-token", friend_token="big-friend-token", movies=20_000, shows=1
    ) as big:
        section = big.library.sections["1"]
        body = _body(
            big,
            "/library/sections/1/all",
            sort="titleSort:asc",
            **{"X-Plex-Container-Start": 50, "X-Plex-Container-Size": 50},
        )

    expected = sorted(section.items, key=lambda item: (item["titleSort"], int(item["ratingKey"])))
    assert body["totalSize"] == 20_000
    assert body["offset"] == 50
    assert body["size"] == 50
    assert [item["ratingKey"] for item in body["Metadata"]] == [
        item["ratingKey"] for item in expected[50:100]
    ]


# -- watch state, per token ------------------------------------------------------------------

LIBRARY_ID = "com.plexapp.plugins.library"


@pytest.fixture
def fresh_watch(emulator: Emulator) -> Any:
    emulator.reset_watch()
    yield
    emulator.reset_watch()


def _first(emulator: Emulator, kind: str, section: str, owner: Any, friend: Any) -> str:
    """A ratingKey of `kind` in `section` whose state satisfies both predicates."""
    for key, item in emulator.library.by_key.items():
        if item["type"] != kind or emulator.library.section_of[key] != section:
            continue
        if owner(emulator.watch_state("owner", key)) and friend(
            emulator.watch_state("friend", key)
        ):
            return key
    raise AssertionError(f"no such {kind}")


def _send(
    emulator: Emulator, method: str, path: str, token: str | None = None, **params: Any
) -> requests.Response:
    return requests.request(
        method,
        f"{emulator.url}{path}",
        headers={"X-Plex-Token": token or emulator.owner_token, "Accept": "application/json"},
        params=params,
        timeout=TIMEOUT,
    )


def test_the_same_item_carries_each_tokens_own_watch_state(emulator: Emulator) -> None:
    played = _first(emulator, "movie", "1", lambda s: "viewCount" in s, lambda s: not s)
    started = _first(emulator, "movie", "1", lambda s: not s, lambda s: "viewOffset" in s)
    for key in (played, started):
        for who, token in (("owner", emulator.owner_token), ("friend", emulator.friend_token)):
            item = _items(emulator, f"/library/metadata/{key}", token=token)[0]
            state = emulator.watch_state(who, key)
            assert {k: item[k] for k in WATCH_ATTRIBUTES if k in item} == state
    owner_item = _items(emulator, f"/library/metadata/{played}")[0]
    friend_item = _items(emulator, f"/library/metadata/{played}", token=emulator.friend_token)[0]
    assert isinstance(owner_item["viewCount"], int)
    assert isinstance(owner_item["lastViewedAt"], int)
    assert "viewCount" not in friend_item
    assert "lastViewedAt" not in friend_item


WATCH_ATTRIBUTES = ("viewCount", "viewOffset", "lastViewedAt", "viewedLeafCount", "leafCount")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/library/sections/1/all", {"X-Plex-Container-Size": 100}),
        ("/library/sections/3/all", {"type": 4}),
        ("/library/sections/3/all", {"type": 3}),
        ("/library/sections/3/all", {}),
        ("/library/recentlyAdded", {}),
        ("/hubs/home/recentlyAdded", {"type": 2}),
        ("/library/onDeck", {}),
        ("/hubs/continueWatching/items", {}),
        ("/library/search", {"query": "the"}),
        ("/hubs/search", {"query": "the"}),
        ("/hubs", {}),
    ],
)
def test_every_answer_applies_the_requesting_tokens_state(
    emulator: Emulator, path: str, params: dict[str, Any]
) -> None:
    seen: dict[str, list[dict[str, Any]]] = {}
    for who, token in (("owner", emulator.owner_token), ("friend", emulator.friend_token)):
        body = _body(emulator, path, token=token, **params)
        entries = list(body.get("Metadata", []))
        entries += [r["Metadata"] for r in body.get("SearchResult", []) if "Metadata" in r]
        entries += [e for hub in body.get("Hub", []) for e in hub.get("Metadata", [])]
        entries = [e for e in entries if "ratingKey" in e and e["type"] != "collection"]
        assert entries
        for entry in entries:
            state = emulator.watch_state(who, entry["ratingKey"])
            shown = {k: entry[k] for k in WATCH_ATTRIBUTES if k in entry}
            assert shown == state, (who, entry["type"], entry["ratingKey"])
        seen[who] = entries
    if path not in {"/library/onDeck", "/hubs/continueWatching/items", "/hubs"}:
        owner = {e["ratingKey"]: {k: e.get(k) for k in WATCH_ATTRIBUTES} for e in seen["owner"]}
        friend = {e["ratingKey"]: {k: e.get(k) for k in WATCH_ATTRIBUTES} for e in seen["friend"]}
        common = owner.keys() & friend.keys()
        assert any(owner[k] != friend[k] for k in common), "the same state for both tokens"


def test_xml_answers_carry_the_tokens_state_too(emulator: Emulator) -> None:
    played = _first(emulator, "movie", "1", lambda s: "viewCount" in s, lambda s: not s)
    for token, expected in ((emulator.owner_token, True), (emulator.friend_token, False)):
        response = requests.get(
            f"{emulator.url}/library/metadata/{played}",
            headers={"X-Plex-Token": token},
            timeout=TIMEOUT,
        )
        video = re.search(r"<Video [^>]*>", response.text)
        assert video is not None
        assert ('viewCount="' in video.group(0)) is expected


@pytest.mark.usefixtures("fresh_watch")
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_scrobble_answers_an_empty_200_and_marks_for_that_token(
    emulator: Emulator, method: str
) -> None:
    key = _first(emulator, "movie", "1", lambda s: not s, lambda s: not s)

    played = _send(emulator, method, "/:/scrobble", key=key, identifier=LIBRARY_ID)
    assert played.status_code == 200
    assert played.content == b""
    state = emulator.watch_state("owner", key)
    assert state["viewCount"] == 1
    assert abs(state["lastViewedAt"] - time.time()) < 60
    assert emulator.watch_state("friend", key) == {}
    again = _send(emulator, method, "/:/scrobble", key=key, identifier=LIBRARY_ID)
    assert again.status_code == 200
    assert emulator.watch_state("owner", key)["viewCount"] == 2

    unplayed = _send(emulator, method, "/:/unscrobble", key=key, identifier=LIBRARY_ID)
    assert unplayed.status_code == 200
    assert unplayed.content == b""
    assert emulator.watch_state("owner", key) == {}


@pytest.mark.usefixtures("fresh_watch")
def test_scrobbling_a_season_or_an_album_marks_its_leaves(emulator: Emulator) -> None:
    library = emulator.library
    season = next(i for i in library.by_key.values() if i["type"] == "season")
    album = next(i for i in library.by_key.values() if i["type"] == "album")
    for container in (season, album):
        key = container["ratingKey"]
        token = emulator.friend_token
        assert _send(emulator, "GET", "/:/scrobble", token, key=key, identifier=LIBRARY_ID).ok
        leaves = library.children_of[key]
        assert all("viewCount" in emulator.watch_state("friend", e["ratingKey"]) for e in leaves)
        assert emulator.watch_state("friend", key)["viewedLeafCount"] == len(leaves)
        assert _send(emulator, "PUT", "/:/unscrobble", token, key=key, identifier=LIBRARY_ID).ok
        assert not any(emulator.watch_state("friend", e["ratingKey"]) for e in leaves)


def test_scrobble_refusals(emulator: Emulator) -> None:
    movie = emulator.library.sections["1"].items[0]["ratingKey"]
    uhd = _uhd_item(emulator)["ratingKey"]
    friend = emulator.friend_token
    assert _send(emulator, "GET", "/:/scrobble", identifier=LIBRARY_ID).status_code == 400
    assert _send(emulator, "GET", "/:/scrobble", key=movie).status_code == 400
    assert _send(emulator, "GET", "/:/scrobble", key=movie, identifier="x").status_code == 400
    assert (
        _send(emulator, "GET", "/:/scrobble", key="999999", identifier=LIBRARY_ID).status_code
        == 404
    )
    assert (
        _send(emulator, "GET", "/:/scrobble", friend, key=uhd, identifier=LIBRARY_ID).status_code
        == 404
    )
    assert (
        _send(
            emulator, "GET", "/:/unscrobble", "nobody", key=movie, identifier=LIBRARY_ID
        ).status_code
        == 401
    )
    assert (
        _send(emulator, "DELETE", "/:/scrobble", key=movie, identifier=LIBRARY_ID).status_code
        == 405
    )
    refused = _send(emulator, "GET", "/:/scrobble", key=movie)
    assert refused.headers["Content-Type"].startswith("text/html")
    assert emulator.watch_state("friend", uhd) == {}


@pytest.mark.usefixtures("fresh_watch")
def test_timeline_sets_the_offset_then_marks_played_past_ninety_percent(
    emulator: Emulator,
) -> None:
    key = _first(emulator, "episode", "3", lambda s: not s, lambda s: not s)
    duration = emulator.library.by_key[key]["duration"]
    report = {
        "ratingKey": key,
        "key": f"/library/metadata/{key}",
        "identifier": LIBRARY_ID,
        "duration": duration,
    }

    playing = _send(emulator, "POST", "/:/timeline", **report, state="playing", time=120_000)
    assert playing.status_code == 200
    assert playing.json() == {"MediaContainer": {"size": 0}}
    assert emulator.watch_state("owner", key)["viewOffset"] == 120_000
    assert "viewCount" not in emulator.watch_state("owner", key)
    assert emulator.watch_state("friend", key) == {}
    deck = _items(emulator, "/library/onDeck")
    assert deck[0]["ratingKey"] == key
    assert deck[0]["viewOffset"] == 120_000

    done = _send(emulator, "GET", "/:/timeline", **report, state="stopped", time=duration - 1000)
    assert done.status_code == 200
    assert emulator.watch_state("owner", key) == {
        "viewCount": 1,
        "lastViewedAt": emulator.watch_state("owner", key)["lastViewedAt"],
    }
    assert _send(emulator, "GET", "/:/timeline", **report, state="playing").status_code == 400
    assert _send(emulator, "GET", "/:/timeline", **report, state="x", time=5).status_code == 400


def test_watch_control_endpoint_reads_an_accounts_state(emulator: Emulator) -> None:
    played = _first(emulator, "movie", "1", lambda s: "viewCount" in s, lambda s: not s)
    for account in ("owner", "friend"):
        response = requests.get(
            f"{emulator.url}/__emulator__/watch",
            params={"account": account, "ratingKey": played},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        assert response.json() == {
            "account": account,
            "ratingKey": played,
            **emulator.watch_state(account, played),
        }
    unknown = requests.get(
        f"{emulator.url}/__emulator__/watch",
        params={"account": "stranger", "ratingKey": played},
        timeout=TIMEOUT,
    )
    assert unknown.status_code == 404


@pytest.mark.usefixtures("fresh_watch")
def test_a_third_token_has_its_own_state(emulator: Emulator) -> None:
    emulator.add_account("guest", "guest-token-0123")
    key = _first(emulator, "movie", "1", lambda s: not s, lambda s: not s)
    assert _send(
        emulator, "GET", "/:/scrobble", "guest-token-0123", key=key, identifier=LIBRARY_ID
    ).ok
    assert emulator.watch_state("guest", key)["viewCount"] == 1
    assert emulator.watch_state("friend", key) == {}
    assert (
        _get(
            emulator,
            f"/library/metadata/{_uhd_item(emulator)['ratingKey']}",
            token="guest-token-0123",
        ).status_code
        == 404
    )
