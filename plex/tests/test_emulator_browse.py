"""The emulator's filters, recently added, hubs, on deck, search and owner-only answers against
recordings of real servers (plex/tests/data/, see README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import requests

from plex_emulator import Emulator

DATA = Path(__file__).parent / "data"
TIMEOUT = 10


def _real(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["MediaContainer"]


def _xml(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own test data and emulator


def _get(
    emulator: Emulator, path: str, token: str | None = None, **params: Any
) -> requests.Response:
    headers = {"Accept": "application/json", "X-Plex-Token": token or emulator.owner_token}
    return requests.get(f"{emulator.url}{path}", headers=headers, params=params, timeout=TIMEOUT)


def _json(emulator: Emulator, path: str, token: str | None = None, **params: Any) -> Any:
    response = _get(emulator, path, token, **params)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()["MediaContainer"]


def _kinds(entry: dict[str, Any]) -> dict[str, str]:
    return {key: type(value).__name__ for key, value in entry.items()}


def _same_types(real: dict[str, Any], emulated: dict[str, Any], keys: set[str]) -> list[str]:
    return [
        f"{key}: {_kinds(emulated).get(key, 'missing')} != {_kinds(real)[key]}"
        for key in sorted(keys)
        if _kinds(emulated).get(key) != _kinds(real)[key]
    ]


def test_detail_tags_carry_id_filter_and_tag_key_like_real_ones(emulator: Emulator) -> None:
    real = _real("metadata_movie.json")["Metadata"][0]
    item = emulator.library.sections["1"].items[0]
    emulated = _json(emulator, f"/library/metadata/{item['ratingKey']}")["Metadata"][0]

    for array, prefix in (("Genre", "genre"), ("Director", "director"), ("Role", "actor")):
        real_keys = set(real[array][0]) - {"thumb"}  # real people thumbs are plex.tv URLs
        assert _same_types(real[array][0], emulated[array][0], real_keys) == [], array
        for tag in emulated[array]:
            assert tag["filter"] == f"{prefix}={tag['id']}"
    assert "tagKey" not in emulated["Genre"][0]  # as real: genres have none


def test_tag_ids_are_stable_per_value_across_the_library(emulator: Emulator) -> None:
    ids: dict[tuple[str, str], set[int]] = {}
    for item in emulator.library.by_key.values():
        for array in ("Genre", "Role", "Director", "Writer", "Country"):
            for tag in item.get(array, ()):
                ids.setdefault((array, tag["tag"]), set()).add(tag["id"])

    assert all(len(found) == 1 for found in ids.values())
    assert len({next(iter(v)) for v in ids.values()}) == len(ids)  # one id per kind and value


def test_list_answers_carry_bare_tags_like_real_lists(emulator: Emulator) -> None:
    real = _real("section_all_movies.json")["Metadata"][0]
    page = _json(
        emulator,
        "/library/sections/1/all",
        **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 50},
    )

    assert set(real["Genre"][0]) == {"tag"}
    for item in page["Metadata"]:
        assert all(set(tag) == {"tag"} for tag in item["Genre"])
        assert len(item["Role"]) <= 3
        assert len(item["Genre"]) <= 2
    assert page["content"] == _real("section_all_movies.json")["content"] == "secondary"


def test_genre_choices_are_shaped_like_the_real_ones(emulator: Emulator) -> None:
    real = _real("section_genres.json")
    emulated = _json(emulator, "/library/sections/1/genre")

    container_keys = set(real) - {"Directory", "size"}
    assert _same_types(real, emulated, container_keys) == []
    assert emulated["title2"] == real["title2"] == "By Genre"
    assert (
        _same_types(real["Directory"][0], emulated["Directory"][0], set(real["Directory"][0])) == []
    )
    genres = {
        (str(tag["id"]), tag["tag"])
        for item in emulator.library.sections["1"].items
        for tag in item["Genre"]
    }
    assert {(d["key"], d["title"]) for d in emulated["Directory"]} == genres


@pytest.mark.parametrize("name", ["year", "decade", "contentRating", "actor", "collection"])
def test_every_listed_filter_answers_and_its_fast_keys_filter(
    emulator: Emulator, name: str
) -> None:
    choices = _json(emulator, f"/library/sections/1/{name}")["Directory"]
    total = len(emulator.library.sections["1"].items)

    assert choices
    first = choices[0]
    path, _, query = first["fastKey"].partition("?")
    field, _, value = query.partition("=")
    page = _json(emulator, path, **{field: value})
    assert 0 < page["totalSize"] < total


def test_filters_combine_with_sort_and_paging(emulator: Emulator) -> None:
    items = emulator.library.sections["1"].items
    genre_ids = sorted({tag["id"] for item in items for tag in item["Genre"]})[:2]
    expected = sorted(
        (
            i
            for i in items
            if {t["id"] for t in i["Genre"]} & set(genre_ids)
            and "viewCount" not in emulator.watch_state("owner", i["ratingKey"])
        ),
        key=lambda i: (i["year"], i["titleSort"]),
        reverse=True,  # year:desc, ties by title, as the emulator orders them
    )

    page = _json(
        emulator,
        "/library/sections/1/all",
        genre=",".join(map(str, genre_ids)),  # a comma is OR
        unwatched=1,
        sort="year:desc",
        **{"X-Plex-Container-Start": 2, "X-Plex-Container-Size": 5},
    )

    assert page["totalSize"] == len(expected) > 7
    assert [m["ratingKey"] for m in page["Metadata"]] == [i["ratingKey"] for i in expected[2:7]]


def test_a_repeated_tag_filter_is_and(emulator: Emulator) -> None:
    items = emulator.library.sections["1"].items
    pair = next(i["Genre"][:2] for i in items if len(i["Genre"]) >= 2)
    ids = {t["id"] for t in pair}
    response = requests.get(
        f"{emulator.url}/library/sections/1/all?genre={pair[0]['id']}&genre={pair[1]['id']}",
        headers={"Accept": "application/json", "X-Plex-Token": emulator.owner_token},
        timeout=TIMEOUT,
    )

    expected = {i["ratingKey"] for i in items if ids <= {t["id"] for t in i["Genre"]}}
    found = {m["ratingKey"] for m in response.json()["MediaContainer"].get("Metadata", [])}
    assert found == expected


def test_a_bad_tag_id_is_a_400_and_an_unknown_field_is_ignored(emulator: Emulator) -> None:
    assert _get(emulator, "/library/sections/1/all", genre="drama").status_code == 400
    total = len(emulator.library.sections["1"].items)
    assert _json(emulator, "/library/sections/1/all", nosuchfield=1)["totalSize"] == total


def test_include_meta_lists_filters_fields_and_field_types(emulator: Emulator) -> None:
    real = _real("section_all_movies.json")["Meta"]
    meta = _json(
        emulator,
        "/library/sections/3/all",
        includeMeta=1,
        **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0},
    )["Meta"]

    assert [t["type"] for t in meta["Type"]] == ["show", "season", "episode", "folder"]
    show = meta["Type"][0]
    assert (
        _same_types(
            real["Type"][0]["Filter"][0],
            show["Filter"][0],
            {"filter", "filterType", "key", "title", "type"},
        )
        == []
    )
    assert show["Filter"][0]["key"] == "/library/sections/3/genre"
    episode = meta["Type"][2]
    assert all(f["key"].endswith("?type=4") for f in episode["Filter"])
    assert {ft["type"] for ft in meta["FieldType"]} >= {"tag", "integer", "string", "boolean"}


def test_recently_added_groups_tv_into_seasons_with_the_real_keys(emulator: Emulator) -> None:
    real = {m["type"]: m for m in _real("recently_added_grouped.json")["Metadata"]}
    body = _json(
        emulator,
        "/library/recentlyAdded",
        **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 300},
    )

    kinds = {m["type"] for m in body["Metadata"]}
    assert kinds == {"movie", "season", "album"}
    assert body["totalSize"] == len(body["Metadata"])
    assert body["offset"] == 0
    season = next(m for m in body["Metadata"] if m["type"] == "season")
    shared = set(real["season"]) - {
        "Image",
        "UltraBlurColors",
        "Guid",
        "parentSlug",
        "parentTheme",
        "titleSort",
        "year",
    }
    assert _same_types(real["season"], season, shared) == []
    added = [m["addedAt"] for m in body["Metadata"]]
    assert added == sorted(added, reverse=True)


def test_home_recently_added_type_2_mixes_episodes_seasons_and_shows(emulator: Emulator) -> None:
    body = _json(emulator, "/hubs/home/recentlyAdded", type=2)

    assert {m["type"] for m in body["Metadata"]} == {"episode", "season", "show"}
    assert len({m["ratingKey"] for m in body["Metadata"]}) == len(body["Metadata"])
    assert {m["type"] for m in _json(emulator, "/hubs/home/recentlyAdded", type=1)["Metadata"]} == {
        "movie"
    }
    assert {m["type"] for m in _json(emulator, "/hubs/home/recentlyAdded", type=8)["Metadata"]} == {
        "album"
    }


def test_home_hubs_are_shaped_like_the_real_ones(emulator: Emulator) -> None:
    real = _xml((DATA / "xml" / "hubs.xml").read_bytes())
    response = requests.get(
        f"{emulator.url}/hubs", headers={"X-Plex-Token": emulator.owner_token}, timeout=TIMEOUT
    )

    emulated = _xml(response.content)
    assert emulated.get("identifier") == real.get("identifier")
    real_hub, hub = real.find("Hub"), emulated.find("Hub")
    assert real_hub is not None
    assert hub is not None
    assert set(real_hub.attrib) <= set(hub.attrib)
    assert hub.get("hubIdentifier") == real_hub.get("hubIdentifier") == "home.continue"
    music = [h for h in emulated.findall("Hub") if h.get("hubIdentifier") == "home.music.recent"]
    assert music
    assert music[0].get("key") == "/hubs/home/recentlyAdded?type=8"


def test_on_deck_container_is_like_the_real_one(emulator: Emulator) -> None:
    real = _xml((DATA / "xml" / "empty_library.xml").read_bytes())
    response = requests.get(
        f"{emulator.url}/library/onDeck",
        headers={"X-Plex-Token": emulator.owner_token},
        timeout=TIMEOUT,
    )

    emulated = _xml(response.content)
    assert set(real.attrib) <= set(emulated.attrib)
    assert len(emulated) > 0
    assert all(child.get("viewOffset") or child.get("type") == "episode" for child in emulated)


def test_library_search_is_shaped_like_the_real_one(emulator: Emulator) -> None:
    real_items = _real("library_search_items.json")["SearchResult"][0]
    real_person = _real("library_search_people.json")["SearchResult"][0]
    actor = emulator.library.sections["1"].items[0]["Role"][0]["tag"]

    items = _json(emulator, "/library/search", query="amelie")["SearchResult"]
    people = _json(emulator, "/library/search", query=actor)["SearchResult"]

    assert _same_types(real_items, items[0], {"score"}) == []
    assert items[0]["Metadata"]["title"] == "Amélie's Garden"
    person = next(r for r in people if "Directory" in r)
    keys = set(real_person["Directory"]) - {"thumb"}
    assert _same_types(real_person["Directory"], person["Directory"], keys) == []
    assert person["Directory"]["tag"] == actor


def test_hub_search_has_people_hubs_and_related_items_with_a_reason(emulator: Emulator) -> None:
    movie = emulator.library.sections["1"].items[7]
    actor = movie["Role"][0]

    hubs = _json(emulator, "/hubs/search", query=actor["tag"], limit=100)["Hub"]

    actors = next(h for h in hubs if h["hubIdentifier"] == "actor")
    assert actor["tag"] in [d["tag"] for d in actors["Directory"]]
    assert all(d["type"] == "tag" and d["tagType"] == 6 for d in actors["Directory"])
    movies = next(h for h in hubs if h["hubIdentifier"] == "movie")
    related = next(m for m in movies["Metadata"] if m["ratingKey"] == movie["ratingKey"])
    if actor["tag"].casefold() not in movie["title"].casefold():
        assert (related["reason"], related["reasonTitle"], related["reasonID"]) == (
            "actor",
            actor["tag"],
            actor["id"],
        )
    assert hubs[0]["size"] > 0  # hubs with results first


def test_friend_gets_403_on_owner_only_endpoints(emulator: Emulator) -> None:
    for path in ("/accounts", "/library", "/status/sessions", "/butler", "/:/prefs"):
        response = _get(emulator, path, emulator.friend_token)
        assert response.status_code == 403, path
        assert "<h1>403 Forbidden</h1>" in response.text
    assert _get(emulator, "/library/sections", emulator.friend_token).status_code == 200
    assert _get(emulator, "/accounts", "not-a-token").status_code == 401


def test_accounts_are_shaped_like_the_real_ones(emulator: Emulator) -> None:
    real = _xml((DATA / "plex_server_accounts.xml").read_bytes())
    response = requests.get(
        f"{emulator.url}/accounts", headers={"X-Plex-Token": emulator.owner_token}, timeout=TIMEOUT
    )

    emulated = _xml(response.content)
    assert emulated.get("identifier") == real.get("identifier")
    assert [child.tag for child in emulated] == ["Account"] * len(emulated)
    assert set(real[0].attrib) == set(emulated[0].attrib)


def test_friend_never_sees_the_unshared_section_in_new_endpoints(emulator: Emulator) -> None:
    unshared = {k for k, s in emulator.library.section_of.items() if s == "2"}
    friend = emulator.friend_token
    paths = [
        ("/library/recentlyAdded", {"X-Plex-Container-Size": 500}),
        ("/hubs/home/recentlyAdded", {"type": 1}),
        ("/library/onDeck", {}),
        ("/hubs/continueWatching/items", {}),
    ]
    for path, params in paths:
        keys = {m["ratingKey"] for m in _json(emulator, path, friend, **params).get("Metadata", [])}
        assert keys, path
        assert not keys & unshared, path
    hubs = _json(emulator, "/hubs", friend, count=100)["Hub"]
    assert not {m["ratingKey"] for h in hubs for m in h.get("Metadata", [])} & unshared
    title = emulator.library.sections["2"].items[0]["title"]
    for hub in _json(emulator, "/hubs/search", friend, query=title, limit=100)["Hub"]:
        assert not {m["ratingKey"] for m in hub.get("Metadata", [])} & unshared
        assert all(d["librarySectionID"] != 2 for d in hub.get("Directory", []))
    assert _get(emulator, "/hubs/sections/2", friend).status_code == 404
    assert _get(emulator, "/library/sections/2/genre", friend).status_code == 404


def test_collection_thumbs_are_served_with_and_without_the_query_string(emulator: Emulator) -> None:
    thumbs = [c["thumb"] for s in emulator.library.sections.values() for c in s.collections]
    composite = next(t for t in thumbs if "/composite/" in t)
    custom = next(t for t in thumbs if "/thumb/" in t)
    assert composite.endswith("?width=400&height=600")

    for thumb in (composite, custom):
        direct = requests.get(
            f"{emulator.url}{thumb}",
            headers={"X-Plex-Token": emulator.owner_token},
            timeout=TIMEOUT,
        )
        assert direct.status_code == 200
        assert direct.headers["Content-Type"] == "image/jpeg"
        via = _get(emulator, "/photo/:/transcode", url=thumb, width=200, height=300)
        assert via.status_code == 200
        assert via.content[:2] == b"\xff\xd8"


def test_collections_carry_child_count_as_a_string_and_all_leaves_of_an_artist(
    emulator: Emulator,
) -> None:
    collections = _json(emulator, "/library/sections/1/collections")["Metadata"]
    assert all(isinstance(c["childCount"], str) for c in collections)
    artist = emulator.library.sections["4"].items[0]
    tracks = _json(emulator, f"/library/metadata/{artist['ratingKey']}/allLeaves")["Metadata"]
    expected = [
        t["ratingKey"]
        for album in emulator.library.children_of[artist["ratingKey"]]
        for t in emulator.library.children_of[album["ratingKey"]]
    ]
    assert [t["ratingKey"] for t in tracks] == expected


def test_all_episodes_pseudo_season_has_an_added_at(emulator: Emulator) -> None:
    show = emulator.library.sections["3"].items[0]
    children = _json(emulator, f"/library/metadata/{show['ratingKey']}/children")["Metadata"]

    assert children[0]["title"] == "All episodes"
    newest = max(
        e["addedAt"]
        for s in emulator.library.children_of[show["ratingKey"]]
        for e in emulator.library.children_of[s["ratingKey"]]
    )
    assert children[0]["addedAt"] == newest
