"""Every real answer the project keeps goes through the client and out of MediaNest's API: it
parses, and no field the API sends is empty where the real answer had a value for it.

The answers are real responses recorded from real libraries (JSON in data/real/, XML in
data/xml/; see data/README.md), served to the client over `responses` exactly as Plex sent them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import responses

from plex.api.representations import ITEM_FIELDS, LIBRARY_FIELDS, item_json, library_json
from plex.client import Library, MediaItem, PlexClient

BASE = "http://plex.test:32400"
REAL = Path(__file__).parent / "data" / "real"
# What a list's items inherit from their container when they don't say it themselves.
INHERITED = ("librarySectionID", "librarySectionTitle")
# (sample file prefix, the URL path the client asks, the client call).
CALLS: list[tuple[str, str, Callable[[PlexClient], list[Any]]]] = [
    ("library_get-all-libraries", "/library/sections", lambda client: client.libraries()),
    (
        "library__sectionKey__get-library-all",
        "/library/sections/1/all",
        lambda client: client.library_items(1).items,
    ),
    (
        "library__sectionKey__get-library-items",
        "/library/sections/1/all",
        lambda client: client.library_items(1).items,
    ),
    (
        "library_metadata__ratingKey__get-media-meta-data",
        "/library/metadata/1",
        lambda client: [client.metadata(1)],
    ),
    (
        "hubs_home_get-recently-added",
        "/hubs/home/recentlyAdded",
        lambda client: client.recently_added(type="show", limit=100),
    ),
]


def _samples() -> Iterator[Any]:
    for prefix, path, call in CALLS:
        files = sorted(REAL.glob(f"{prefix}.*.json"))
        assert files, f"no sample for {prefix}"
        for file in files:
            yield pytest.param(file, path, call, id=file.stem)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _entries(container: dict[str, Any]) -> list[dict[str, Any]]:
    """The sample's entries as the client should see them: a list's items with what they
    inherit from the container."""
    entries = container.get("Metadata") or container.get("Directory") or []
    inherited = {name: container[name] for name in INHERITED if name in container}
    return [{**inherited, **entry} for entry in entries]


def _plex_names(fields: list[Any], kind: type) -> dict[str, str]:
    """The API's JSON name -> the Plex attribute it is read from (fields MediaNest works out,
    such as `watched` and `progress`, have none)."""
    names = {}
    for json_name, attr, _, _ in fields:
        plex_name = getattr(getattr(kind, attr), "plex_name", None)
        if plex_name is not None:
            names[json_name] = plex_name
    return names


@pytest.mark.parametrize(("file", "path", "call"), list(_samples()))
def test_a_real_answer_parses_and_the_api_keeps_every_value_it_had(
    file: Path, path: str, call: Callable[[PlexClient], list[Any]]
) -> None:
    response = json.loads(file.read_text())["response"]
    client = PlexClient(BASE, "sample-token-0123456789")
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}{path}", json=response)
        results = call(client)

    _assert_nothing_lost(_entries(response["MediaContainer"]), results)


# XML answers recorded from real servers (data/xml/), through the same check.
XML = Path(__file__).parent / "data" / "xml"
XML_CALLS: list[tuple[str, str, Callable[[PlexClient], list[Any]]]] = [
    ("library_sections.xml", "/library/sections", lambda client: client.libraries()),
    (
        "library_movies_all.xml",
        "/library/sections/1/all",
        lambda client: client.library_items(1).items,
    ),
    (
        "library_tvshows_all.xml",
        "/library/sections/1/all",
        lambda client: client.library_items(1).items,
    ),
    ("media_1.xml", "/library/metadata/1", lambda client: [client.metadata(1)]),
]


def _xml_entries(body: bytes) -> list[dict[str, Any]]:
    """The answer's entries read independently of the client: attributes, and tag children
    as lists (an XML attribute is a string, empty or not, as a JSON value is)."""
    root = ElementTree.fromstring(body)  # noqa: S314 (the project's own recorded files)
    entries = []
    for element in root:
        entry: dict[str, Any] = dict(element.attrib)
        for child in element:
            entry.setdefault(child.tag, []).append(dict(child.attrib))
        entries.append({**{n: root.attrib[n] for n in INHERITED if n in root.attrib}, **entry})
    return entries


@pytest.mark.parametrize(("name", "path", "call"), XML_CALLS, ids=[c[0] for c in XML_CALLS])
def test_a_real_xml_answer_parses_and_the_api_keeps_every_value_it_had(
    name: str, path: str, call: Callable[[PlexClient], list[Any]]
) -> None:
    body = (XML / name).read_bytes()
    client = PlexClient(BASE, "sample-token-0123456789")
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}{path}", body=body, content_type="text/xml;charset=utf-8")
        results = call(client)

    _assert_nothing_lost(_xml_entries(body), results)


def _assert_nothing_lost(entries: list[dict[str, Any]], results: list[Any]) -> None:
    assert len(results) == len(entries) > 0
    lost = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, Library):
            output, names = library_json(result), _library_names()
        else:
            assert isinstance(result, MediaItem)
            output, names = item_json(result), _item_names()
        for json_name, plex_name in names.items():
            if not _empty(entry.get(plex_name)) and _empty(output[json_name]):
                lost.append(f"{json_name} (Plex {plex_name}={entry[plex_name]!r})")
    assert not lost, f"empty in the API output, set in the real answer: {sorted(set(lost))}"


def _item_names() -> dict[str, str]:
    return _plex_names(ITEM_FIELDS, MediaItem)


def _library_names() -> dict[str, str]:
    # Library is a dataclass: its fields' Plex names are the API's JSON names.
    return {json_name: json_name for json_name, _, _, _ in LIBRARY_FIELDS}


def test_the_fast_item_renderer_says_exactly_what_the_typed_attributes_say() -> None:
    # item_json reads the raw dict for speed; it must give byte for byte what reading each
    # typed attribute gives, for every real item the project keeps.
    from plex.api.representations import _render

    checked = 0
    for file in sorted(REAL.glob("*.json")):
        container = json.loads(file.read_text())["response"]["MediaContainer"]
        for entry in container.get("Metadata") or []:
            item = MediaItem(entry)
            expected = {**_render(ITEM_FIELDS, item), "playUrl": None}
            assert json.dumps(item_json(item)) == json.dumps(expected), file.name
            checked += 1
    assert checked > 100
