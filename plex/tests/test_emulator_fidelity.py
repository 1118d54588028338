"""The emulator against recordings of real Plex Media Servers (plex/tests/data/, see README.md).

For every endpoint the client uses, each attribute the client reads (plex/client/types.py) that
the real server sends must come back from the emulator with the same JSON type; and the wire
format around it (XML by default, paging headers, HTML error pages, omitted empty arrays) must
be Plex's.
"""

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

# What MediaItem.from_plex reads.
ITEM_KEYS = (
    "ratingKey",
    "key",
    "guid",
    "type",
    "title",
    "summary",
    "year",
    "thumb",
    "art",
    "duration",
    "addedAt",
    "updatedAt",
    "viewCount",
    "lastViewedAt",
    "parentRatingKey",
    "parentKey",
    "parentTitle",
    "parentIndex",
    "parentThumb",
    "grandparentRatingKey",
    "grandparentKey",
    "grandparentTitle",
    "grandparentThumb",
    "index",
    "childCount",
    "leafCount",
    "rating",
    "audienceRating",
    "contentRating",
    "originallyAvailableAt",
    "studio",
    "tagline",
    "subtype",
    "librarySectionID",
    "score",
    "Genre",
    "Director",
    "Writer",
    "Role",
    "Country",
)
# What Library.from_plex reads.
SECTION_KEYS = (
    "key",
    "type",
    "title",
    "agent",
    "scanner",
    "language",
    "uuid",
    "updatedAt",
    "createdAt",
)
# What the client reads from a MediaContainer.
CONTAINER_KEYS = ("size", "totalSize", "offset", "librarySectionID")


def _xml(content: bytes) -> ET.Element:
    """Our own test data or our own emulator's answer: trusted, and parsed as clients do."""
    return ET.fromstring(content)  # noqa: S314 - not untrusted input


def _sample(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["MediaContainer"]


def _get(
    emulator: Emulator, path: str, token: str | None = None, **params: Any
) -> requests.Response:
    headers = {"Accept": "application/json", "X-Plex-Token": token or emulator.owner_token}
    return requests.get(f"{emulator.url}{path}", headers=headers, params=params, timeout=TIMEOUT)


def _json(emulator: Emulator, path: str, **params: Any) -> dict[str, Any]:
    response = _get(emulator, path, **params)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["MediaContainer"]


def _kind(value: Any) -> str:
    """The JSON type: int and float differ, and a bool is not an int."""
    return {
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        list: "list",
        dict: "dict",
    }.get(type(value), type(value).__name__)


def _type_mismatches(
    real: dict[str, Any], emulated: dict[str, Any], keys: tuple[str, ...]
) -> list[str]:
    problems = []
    for key in keys:
        if key not in real:
            continue
        if key not in emulated:
            problems.append(f"{key}: missing (real sends {_kind(real[key])})")
        elif _kind(emulated[key]) != _kind(real[key]):
            problems.append(f"{key}: {_kind(emulated[key])}, real sends {_kind(real[key])}")
    return problems


def _counterpart(entries: list[dict[str, Any]], real: dict[str, Any]) -> dict[str, Any]:
    """The first emulated entry of the sample's kind, played if the sample was played."""
    same = [entry for entry in entries if entry.get("type") == real.get("type")]
    assert same, f"no {real.get('type')} in the emulator's answer"
    if "viewCount" in real:
        same = [entry for entry in same if "viewCount" in entry] or same
    return same[0]


def _played(emulator: Emulator, kind: str) -> str:
    """A ratingKey of an item of `kind` in a shared section the owner has played."""
    library = emulator.library
    for key, item in library.by_key.items():
        if item["type"] != kind or library.section_of[key] not in {"1", "3"}:
            continue
        if "viewCount" in emulator.watch_state("owner", key):
            return key
    raise AssertionError(f"the owner has played no {kind}")


def _endpoints(emulator: Emulator) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("section_all_movies.json", "/library/sections/1/all", {"sort": "titleSort:asc"}),
        ("section_all_episodes.json", "/library/sections/3/all", {"type": 4}),
        ("metadata_movie.json", f"/library/metadata/{_played(emulator, 'movie')}", {}),
        ("metadata_show.json", f"/library/metadata/{_played(emulator, 'show')}", {}),
        ("recently_added.json", "/hubs/home/recentlyAdded", {"type": 2}),
    ]


SAMPLE_NAMES = (
    "section_all_movies.json",
    "section_all_episodes.json",
    "metadata_movie.json",
    "metadata_show.json",
    "recently_added.json",
)


@pytest.mark.parametrize("sample_name", SAMPLE_NAMES)
def test_items_have_the_real_keys_and_json_types(emulator: Emulator, sample_name: str) -> None:
    _, path, params = next(e for e in _endpoints(emulator) if e[0] == sample_name)
    real = _sample(sample_name)
    emulated = _json(emulator, path, **params)

    problems = _type_mismatches(real, emulated, CONTAINER_KEYS)
    real_item = real["Metadata"][0]
    emulated_item = _counterpart(emulated["Metadata"], real_item)
    problems += [f"item {p}" for p in _type_mismatches(real_item, emulated_item, ITEM_KEYS)]
    assert problems == [], f"{path} differs from {sample_name}"


def test_sections_have_the_real_keys_and_json_types(emulator: Emulator) -> None:
    real = _sample("sections.json")
    emulated = _json(emulator, "/library/sections")

    problems = _type_mismatches(real, emulated, CONTAINER_KEYS)
    problems += _type_mismatches(real["Directory"][0], emulated["Directory"][0], SECTION_KEYS)
    assert problems == []
    assert isinstance(emulated["Directory"][0]["key"], str)  # "1", as docs/plex-api.md says


def test_tag_arrays_are_lists_of_objects_with_a_tag(emulator: Emulator) -> None:
    real = _sample("metadata_movie.json")["Metadata"][0]
    emulated = _json(emulator, f"/library/metadata/{_played(emulator, 'movie')}")["Metadata"][0]
    for array in ("Genre", "Director", "Writer", "Role", "Country"):
        assert isinstance(real[array][0]["tag"], str)
        assert emulated[array], array
        assert all(isinstance(entry["tag"], str) for entry in emulated[array]), array


def test_identity_matches_the_recorded_attributes(emulator: Emulator) -> None:
    real = _xml((DATA / "identity.xml").read_bytes())
    response = requests.get(f"{emulator.url}/identity", timeout=TIMEOUT)  # no token at all

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    emulated = _xml(response.content)
    assert emulated.tag == real.tag == "MediaContainer"
    assert set(real.attrib) <= set(emulated.attrib)
    assert emulated.get("machineIdentifier") == emulator.machine_identifier
    assert emulated.get("version") == emulator.version
    assert emulated.get("claimed") in {"0", "1"}  # XML booleans, like real's claimed="0"
    assert real.get("claimed") in {"0", "1"}


def test_identity_answers_in_json_without_a_token(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.url}/identity", headers={"Accept": "application/json"}, timeout=TIMEOUT
    )

    assert response.status_code == 200
    body = response.json()["MediaContainer"]
    assert body["machineIdentifier"] == emulator.machine_identifier
    assert body["version"] == emulator.version
    assert isinstance(body["claimed"], bool)


def test_root_has_the_attributes_the_client_reads(emulator: Emulator) -> None:
    real = _xml((DATA / "root.xml").read_bytes())
    response = requests.get(
        f"{emulator.url}/", headers={"X-Plex-Token": emulator.owner_token}, timeout=TIMEOUT
    )

    assert response.status_code == 200
    emulated = _xml(response.content)
    assert emulated.tag == "MediaContainer"
    for name in ("friendlyName", "machineIdentifier", "version", "platform", "updatedAt"):
        assert real.get(name), name
        assert emulated.get(name), name
    assert emulated.get("friendlyName") == emulator.friendly_name
    assert emulated.get("updatedAt", "").isdigit()
    assert all(child.tag == "Directory" for child in emulated)
    real_keys = {child.get("key") for child in real}
    assert {child.get("key") for child in emulated} <= real_keys
    json_root = _json(emulator, "/")
    assert isinstance(json_root["updatedAt"], int)
    assert json_root["version"] == real.get("version")


def test_xml_is_the_default(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.url}/library/sections/1/all",
        headers={"X-Plex-Token": emulator.owner_token},
        params={"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 5},
        timeout=TIMEOUT,
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    root = _xml(response.content)
    assert root.tag == "MediaContainer"
    assert [child.tag for child in root] == ["Video"] * 5
    assert root.get("size") == "5"
    assert all(child.get("type") == "movie" for child in root)
    assert root[0].find("Genre") is not None  # tags are child elements, as in real XML
    assert root[0].find("Media/Part") is not None


def test_shows_are_directories_in_xml(emulator: Emulator) -> None:
    response = requests.get(
        f"{emulator.url}/library/sections/3/all",
        headers={"X-Plex-Token": emulator.owner_token},
        timeout=TIMEOUT,
    )

    root = _xml(response.content)
    assert root.tag == "MediaContainer"
    assert len(root) == len(emulator.library.sections["3"].items)
    assert {child.tag for child in root} == {"Directory"}
    assert {child.get("type") for child in root} == {"show"}


def test_paging_headers_come_back(emulator: Emulator) -> None:
    response = _get(
        emulator,
        "/library/sections/1/all",
        **{"X-Plex-Container-Start": 10, "X-Plex-Container-Size": 7},
    )

    total = len(emulator.library.sections["1"].items)
    assert response.headers["X-Plex-Container-Start"] == "10"
    assert response.headers["X-Plex-Container-Total-Size"] == str(total)
    body = response.json()["MediaContainer"]
    assert (body["size"], body["offset"], body["totalSize"]) == (7, 10, total)
    assert len(body["Metadata"]) == 7


def _assert_plex_error_page(response: requests.Response, status: int, reason: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"<h1>{status} {reason}</h1>" in response.text
    with pytest.raises(requests.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_unauthorized_is_an_html_401_even_when_json_was_asked(
    emulator: Emulator, token: str
) -> None:
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Plex-Token"] = token
    response = requests.get(f"{emulator.url}/library/sections", headers=headers, timeout=TIMEOUT)

    _assert_plex_error_page(response, 401, "Unauthorized")


@pytest.mark.parametrize(
    "path", ["/library/sections/99/all", "/library/metadata/99999999", "/no/such/endpoint"]
)
def test_unknown_things_are_an_html_404(emulator: Emulator, path: str) -> None:
    _assert_plex_error_page(_get(emulator, path), 404, "Not Found")


def test_search_without_query_is_an_html_400(emulator: Emulator) -> None:
    _assert_plex_error_page(_get(emulator, "/hubs/search"), 400, "Bad Request")


def test_empty_hubs_omit_the_metadata_array(emulator: Emulator) -> None:
    body = _json(emulator, "/hubs/search", query="zzqxj-nothing-matches")

    assert body["Hub"], "real servers still list the hubs"
    for hub in body["Hub"]:
        assert hub["size"] == 0
        assert "Metadata" not in hub


def test_an_empty_page_omits_the_metadata_array(emulator: Emulator) -> None:
    body = _json(emulator, "/library/sections/1/all", title="zzqxj-nothing-matches")

    assert body["size"] == 0
    assert body["totalSize"] == 0
    assert "Metadata" not in body


def test_include_meta_is_shaped_like_the_real_one(emulator: Emulator) -> None:
    """python-plexapi reads `Meta` (includeMeta=1) before any sorted or filtered search."""
    real = _sample("section_all_movies.json")["Meta"]
    emulated = _json(
        emulator,
        "/library/sections/1/all",
        includeMeta=1,
        **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0},
    )["Meta"]

    real_type, emulated_type = real["Type"][0], emulated["Type"][0]
    assert _type_mismatches(real_type, emulated_type, ("key", "type", "title", "active")) == []
    assert emulated_type["type"] == "movie"
    assert emulated_type["active"] is True
    sort_keys = ("defaultDirection", "descKey", "key", "title")
    assert _type_mismatches(real_type["Sort"][1], emulated_type["Sort"][1], sort_keys) == []
    assert {"titleSort", "addedAt", "year", "rating"} <= {s["key"] for s in emulated_type["Sort"]}
    field_keys = ("key", "title", "type")
    assert _type_mismatches(real_type["Field"][0], emulated_type["Field"][0], field_keys) == []
    real_field_type, emulated_field_type = real["FieldType"][1], emulated["FieldType"][0]
    assert _type_mismatches(real_field_type, emulated_field_type, ("type", "Operator")) == []
    operator = emulated_field_type["Operator"][0]
    assert _type_mismatches(real_field_type["Operator"][0], operator, ("key", "title")) == []
    assert "Meta" not in _json(
        emulator,
        "/library/sections/1/all",
        **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0},
    )


WATCH_KEYS = ("viewCount", "viewOffset", "lastViewedAt", "viewedLeafCount", "leafCount")


def _real_watch_kinds() -> dict[tuple[str, str], set[str]]:
    """(item type, watch attribute) -> its JSON types, over every recorded real answer."""
    found: dict[tuple[str, str], set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in WATCH_KEYS:
                if key in node and "type" in node:
                    found.setdefault((node["type"], key), set()).add(_kind(node[key]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted((DATA / "real").glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8"))["response"])
    return found


def test_watch_attributes_have_the_real_names_and_json_types(emulator: Emulator) -> None:
    real = _real_watch_kinds()
    assert {("movie", "viewOffset"), ("episode", "viewCount"), ("show", "viewedLeafCount")} <= set(
        real
    )
    library = emulator.library
    checked = 0
    for (kind, key), kinds in sorted(real.items()):
        for account, token in (("owner", emulator.owner_token), ("friend", emulator.friend_token)):
            rating_key = next(
                (
                    k
                    for k, item in library.by_key.items()
                    if item["type"] == kind
                    and library.section_of[k] in {"1", "3"}
                    and key in emulator.watch_state(account, k)
                ),
                None,
            )
            assert rating_key is not None, f"{account} has no {kind} with {key}"
            response = _get(emulator, f"/library/metadata/{rating_key}", token)
            item = response.json()["MediaContainer"]["Metadata"][0]
            assert {_kind(item[key])} == kinds, (kind, key)
            checked += 1
    assert checked >= 10


def test_an_unplayed_episode_carries_no_watch_attributes_as_the_real_one(
    emulator: Emulator,
) -> None:
    """The real "episode about to play": unplayed, so no viewCount, viewOffset, lastViewedAt."""
    real = json.loads(
        (DATA / "real" / "library_metadata__ratingKey__get-media-meta-data.6.json").read_text(
            encoding="utf-8"
        )
    )["response"]["MediaContainer"]["Metadata"][0]
    assert real["type"] == "episode"
    library = emulator.library
    for account, token in (("owner", emulator.owner_token), ("friend", emulator.friend_token)):
        key = next(
            k
            for k, item in library.by_key.items()
            if item["type"] == "episode" and not emulator.watch_state(account, k)
        )
        item = _get(emulator, f"/library/metadata/{key}", token).json()["MediaContainer"]
        emulated = item["Metadata"][0]
        for name in ("viewCount", "viewOffset", "lastViewedAt"):
            assert name not in real
            assert name not in emulated
