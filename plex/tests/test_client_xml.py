"""The client reads Plex's XML answers as it reads JSON (plex/client/plexxml.py).

Real XML from plex/tests/data/xml/ (see plex/tests/data/README.md): recorded answers of real
servers, and the traffic capture of a real PMS 1.43.2. Each test checks what the client makes
of the XML: the same typed results the JSON form gives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from plex.client import Library, PlexBadResponse, PlexClient, ServerIdentity, ServerInfo
from plex.client.plexxml import is_xml, media_container
from plex.client.types import MediaItem
from plex_emulator.render import to_xml

DATA = Path(__file__).parent / "data"
XML = DATA / "xml"
SERVER = "plex.test:32400"
BASE = f"http://{SERVER}"
TOKEN = "xml-unit-token-abcdefgh123456"

pytestmark = pytest.mark.usefixtures("no_backoff")


def sample(name: str) -> bytes:
    return (XML / name).read_bytes()


def parse(name: str) -> dict[str, Any]:
    return media_container(sample(name), SERVER)


def captured(path: str) -> bytes:
    """The body the real PMS 1.43.2 sent for `GET path` in the traffic capture."""
    with (XML / "pms-1.43.2-unclaimed-traffic.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            exchange = json.loads(line)
            if exchange["path"] == f"http://localhost:32400{path}":
                return str(exchange["body"]).encode()
    raise LookupError(path)


def items(container: dict[str, Any]) -> list[MediaItem]:
    return [MediaItem.from_plex(entry) for entry in container.get("Metadata", [])]


def kinds(value: Any) -> Any:
    """`value` with every scalar replaced by its JSON type: a bool is not a number here."""
    if isinstance(value, dict):
        return {key: kinds(entry) for key, entry in value.items()}
    if isinstance(value, list):
        return [kinds(entry) for entry in value]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


# -- what each real answer reads as ----------------------------------------------------------


def test_library_sections_are_directories_read_as_libraries() -> None:
    container = parse("library_sections.xml")
    libraries = [Library.from_plex(entry) for entry in container["Directory"]]
    assert [(lib.key, lib.type, lib.title) for lib in libraries] == [
        ("1", "movie", "Movies"),
        ("2", "show", "TV Shows"),
        ("3", "artist", "Music"),
    ]
    movies = libraries[0]
    assert movies.agent == "com.plexapp.agents.imdb"
    assert movies.scanner == "Plex Movie Scanner"
    assert movies.uuid == "41a28495-035e-46b0-ac84-878f096614da"
    assert movies.updated_at == datetime.fromtimestamp(1602461679, tz=UTC)
    # Typed as in JSON: a section's key stays a string, counts are numbers, flags booleans.
    section = container["Directory"][0]
    assert section["key"] == "1"
    assert section["allowSync"] is True
    assert section["hidden"] == 0
    assert section["Location"] == [{"id": 1, "path": "/storage/movies"}]
    assert container["size"] == 3
    assert "Metadata" not in container


def test_movies_are_metadata_with_their_tags() -> None:
    container = parse("library_movies_all.xml")
    movies = items(container)
    assert [m.title for m in movies] == [f"Movie {n}" for n in range(1, 6)]
    assert [m.rating_key for m in movies] == ["1", "2", "3", "4", "5"]
    first = movies[0]
    assert first.type == "movie"
    assert first.year == 2000
    assert first.rating == 9.0
    assert first.audience_rating == 9.5
    assert first.duration == 9_000_000
    assert first.added_at == datetime.fromtimestamp(1377829261, tz=UTC)
    assert first.view_count == 1
    assert first.genres == ("Sci-Fi", "Action")
    assert first.directors == ("Famous Director",)
    assert first.roles == ("Actor 1", "Actor 2", "Actor 3")
    assert first.countries == ("USA",)
    assert container["librarySectionID"] == 1
    assert container["Metadata"][0]["ratingKey"] == "1"  # a string, as in JSON


def test_container_numbers_are_ints() -> None:
    container = parse("library_movies_size.xml")
    assert container["totalSize"] == 1
    assert container["offset"] == 0
    assert container["size"] == 0
    assert all(type(container[key]) is int for key in ("totalSize", "offset", "size"))
    assert "Metadata" not in container  # no children, no array: as JSON leaves it out


def test_shows_in_directory_tags_are_metadata() -> None:
    shows = items(parse("library_tvshows_all.xml"))
    assert len(shows) == 1
    show = shows[0]
    assert (show.type, show.rating_key, show.title) == ("show", "30", "TV Show")
    assert show.child_count == 5
    assert show.leaf_count == 100
    assert show.key == "/library/metadata/30/children"
    assert show.genres == ("Action", "Animated")
    assert show.roles == ("Some Actor", "Another One")


def test_an_album_directory_is_metadata() -> None:
    (album,) = items(parse("album.xml"))
    assert (album.type, album.rating_key, album.parent_title) == ("album", "200", "Artist")
    assert album.leaf_count == 9
    assert album.last_viewed_at == datetime.fromtimestamp(1605456703, tz=UTC)


def test_sorts_stay_directories_and_keep_string_flags() -> None:
    container = parse("library_movies_sort.xml")
    assert "Metadata" not in container
    sorts = container["Directory"]
    assert [entry["key"] for entry in sorts][:2] == ["titleSort", "originallyAvailableAt"]
    assert sorts[0]["default"] == "asc"  # `default` is a flag elsewhere; here it stays a string
    assert container["content"] == "secondary"


def test_collections_with_meta() -> None:
    container = parse("library_movies_collections.xml")
    (collection,) = items(container)
    assert (collection.type, collection.subtype) == ("collection", "movie")
    assert collection.rating_key == "20000"
    assert collection.key == "/library/collections/20000/children"
    # Meta is one object in JSON, not a list; Type and FieldType under it are lists.
    meta = container["Meta"]
    assert isinstance(meta, dict)
    assert [t["type"] for t in meta["Type"]] == ["collection"]
    assert meta["Type"][0]["Sort"][0]["key"] == "titleSort"
    assert [f["type"] for f in meta["FieldType"]][:2] == ["tag", "integer"]
    assert meta["FieldType"][1]["Operator"][2] == {"key": ">>=", "title": "is greater than"}


def test_filter_metadata() -> None:
    meta = parse("library_movies_metadata.xml")["Meta"]
    movie_type = meta["Type"][0]
    assert movie_type["type"] == "movie"
    assert movie_type["active"] is True
    assert len(movie_type["Filter"]) == 20
    assert len(movie_type["Sort"]) == 15
    assert len(movie_type["Field"]) == 30
    assert meta["Type"][1]["active"] is False


def test_hubs_hold_their_items_as_metadata() -> None:
    hubs = parse("hubs.xml")["Hub"]
    assert [hub["hubIdentifier"] for hub in hubs] == [
        "home.continue",
        "home.music.recent",
        "home.photos.recent",
        "home.videos.recent",
        "home.playlists",
    ]
    continue_watching = items(hubs[0])
    assert [(i.type, i.rating_key) for i in continue_watching] == [
        ("movie", "1"),
        ("episode", "35"),
    ]
    assert continue_watching[1].grandparent_title == "TV Show"
    assert hubs[0]["more"] is True
    assert hubs[0]["size"] == 2
    assert "Metadata" not in hubs[1]  # an empty hub
    assert [i.type for i in items(hubs[2])] == ["photo"] * 6  # <Photo>
    assert [i.rating_key for i in items(hubs[4])] == ["500", "501"]  # <Playlist>


def test_station_playlists_in_a_section_hub_are_metadata() -> None:
    (hub,) = parse("hubs_library_section.xml")["Hub"]
    assert [entry["title"] for entry in hub["Metadata"]] == [
        "Library Radio",
        "Time Travel Radio",
        "Random Album Radio",
    ]
    assert hub["Metadata"][0]["smart"] is True


def test_one_item_with_its_details() -> None:
    container = parse("media_1.xml")
    (movie,) = items(container)
    assert movie.title == "Movie 1"
    assert movie.genres == ("Sci-Fi", "Action")
    assert movie.roles == ("Actor 1", "Actor 2", "Actor 3")
    assert movie.writers == ("A Writer",)
    assert movie.studio == "Studio Entertainment"
    data = container["Metadata"][0]
    assert data["Role"][0] == {
        "count": 25,
        "filter": "actor=1",
        "id": 1,
        "role": "Character 1",
        "tag": "Actor 1",
        "thumb": "http://4.3.2.1/t/p/original/1.jpg",
    }
    assert data["Media"][0]["videoResolution"] == "720"  # "720", "4k", "sd": a string in JSON
    assert data["Media"][0]["aspectRatio"] == 2.35
    # In this recording <Part> and <Stream> sit beside <Media>, not inside it: read as sent.
    assert data["Part"][0]["size"] == 8_500_000_000
    assert [stream["streamType"] for stream in data["Stream"]] == [1, 2, 3]
    assert data["Stream"][1]["selected"] is True


def test_an_item_nested_in_an_item_stays_nested() -> None:
    (show,) = items(parse("library_tvshows_most_recent.xml"))
    assert show.type == "show"
    (episode,) = items(show._data)
    assert (episode.type, episode.rating_key) == ("episode", "35")
    assert episode._data["Media"][0]["Part"][0]["id"] == 397384


def test_the_all_episodes_season_is_metadata_but_tags_are_not() -> None:
    # Shaped as PMS's XML for /library/metadata/{show}/children without excludeAllLeaves.
    body = b"""<MediaContainer size="2" key="30">
<Directory key="/library/metadata/30/allLeaves" type="season" title="All episodes" leafCount="3"/>
<Directory ratingKey="20" key="/library/metadata/20/children" type="season" title="Season 1"
 index="1"/>
</MediaContainer>"""
    container = media_container(body, SERVER)
    assert [i.title for i in items(container)] == ["All episodes", "Season 1"]
    assert "Directory" not in container


def test_objects_that_json_holds_as_one_are_one() -> None:
    # Shaped as PMS's XML for /status/sessions and an item's markers.
    body = b"""<MediaContainer size="1">
<Video ratingKey="7" type="movie" title="Heat">
<Marker id="1" type="credits" startTimeOffset="10" endTimeOffset="20">
<Attributes id="2" version="5"/>
</Marker>
<User id="1" title="olive"/><Player state="playing"/><Session id="abc"/>
</Video>
</MediaContainer>"""
    (movie,) = media_container(body, SERVER)["Metadata"]
    assert movie["User"] == {"id": 1, "title": "olive"}
    assert movie["Player"] == {"state": "playing"}
    assert movie["Session"] == {"id": "abc"}
    assert movie["Marker"] == [
        {
            "id": 1,
            "type": "credits",
            "startTimeOffset": 10,
            "endTimeOffset": 20,
            "Attributes": {"id": 2, "version": "5"},
        }
    ]


@pytest.mark.parametrize("name", ["empty_payload.xml", "empty_library.xml"])
def test_empty_containers(name: str) -> None:
    container = parse(name)
    assert container["size"] == 0
    assert items(container) == []
    assert not any(isinstance(value, list | dict) for value in container.values())


# -- the real PMS 1.43.2 capture ----------------------------------------------------------------


def test_captured_root_reads_as_server_info() -> None:
    container = media_container(captured("/"), SERVER)
    info = ServerInfo.from_plex(container)
    assert info == ServerInfo(
        name="b6f2a1226b70",
        machine_identifier="b4e051156514c3673d6305f3df48b2bd645d6fd5",
        version="1.43.2.10687-563d026ea",
        platform="Linux",
        updated_at=datetime.fromtimestamp(1780544519, tz=UTC),
    )
    assert container["livetv"] == 7
    assert container["myPlexSubscription"] is False
    assert container["transcoderVideo"] is True
    assert len(container["Directory"]) == 25


def test_captured_identity_reads_unclaimed() -> None:
    body = captured("/identity")
    identity = ServerIdentity.from_plex(media_container(body, SERVER))
    assert identity == ServerIdentity(
        machine_identifier="b4e051156514c3673d6305f3df48b2bd645d6fd5",
        version="1.43.2.10687-563d026ea",
        claimed=False,
    )
    claimed = body.replace(b'claimed="0"', b'claimed="1"')
    assert ServerIdentity.from_plex(media_container(claimed, SERVER)).claimed is True


def test_every_captured_media_container_parses() -> None:
    with (XML / "pms-1.43.2-unclaimed-traffic.jsonl").open(encoding="utf-8") as lines:
        bodies = [json.loads(line).get("body") for line in lines]
    containers = [b for b in bodies if b and "<MediaContainer" in b]
    assert len(containers) >= 20
    for body in containers:
        container = media_container(body.encode(), SERVER)
        assert isinstance(container["size"], int)


def test_a_root_that_is_not_a_media_container_is_refused() -> None:
    body = captured("/butler")  # PMS answers <ButlerTasks> here
    with pytest.raises(PlexBadResponse) as caught:
        media_container(body, SERVER)
    message = str(caught.value)
    assert message.startswith(f"Plex at {SERVER} sent")
    assert "ButlerTask" not in message


def test_captured_sections_of_an_empty_server() -> None:
    container = media_container(captured("/library/sections"), SERVER)
    assert container == {"size": 0, "allowSync": False, "title1": "Plex Library"}


# -- the same dict as JSON -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "sections.json",
        "section_all_movies.json",
        "section_all_episodes.json",
        "metadata_movie.json",
        "metadata_show.json",
        "recently_added.json",
    ],
)
def test_real_json_through_xml_comes_back_the_same(name: str) -> None:
    """Real JSON answers, rendered as Plex renders XML (Metadata under <Video>/<Directory>,
    booleans as 1/0, everything a string), read back: the same values and the same JSON
    types (a number may come back as 9.0 for 9)."""
    document = json.loads((DATA / name).read_text(encoding="utf-8"))
    container = media_container(to_xml(document), SERVER)
    assert container == document["MediaContainer"]
    assert kinds(container) == kinds(document["MediaContainer"])


# -- refusals ------------------------------------------------------------------------------------

SECRET = "s3cret-t0ken-in-the-body"

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "{SECRET}">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<MediaContainer size="1" title1="&lol9;"/>
"""
EXTERNAL_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE MediaContainer [<!ENTITY {SECRET} SYSTEM "file:///etc/passwd">]>
<MediaContainer size="1" title1="&{SECRET};"/>
"""
DOCTYPE_ONLY = f'<!DOCTYPE MediaContainer SYSTEM "http://{SECRET}/x.dtd"><MediaContainer/>'


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(DOCTYPE_ONLY, id="external-dtd"),
        pytest.param(f'<MediaContainer size="1"><Video title="{SECRET}"', id="truncated"),
        pytest.param(f'<MediaContainer title="{SECRET}"></Metadata>', id="mismatched-tag"),
        pytest.param(f'<MediaContainer title="&{SECRET};"/>', id="undeclared-entity"),
        pytest.param(f"<MediaContainer/><{SECRET}/>", id="two-roots"),
        pytest.param(f"<{SECRET} size='0'/>", id="other-root"),
        pytest.param(f"<html><body>{SECRET}</body></html>", id="html"),
        pytest.param(f'<MediaContainer title="{SECRET}'.encode() + b'\xff"/>', id="bad-utf8"),
    ],
)
def test_bad_xml_is_a_bad_response_that_quotes_nothing(body: str | bytes) -> None:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(PlexBadResponse) as caught:
        media_container(raw, SERVER)
    message = str(caught.value)
    assert message.startswith(f"Plex at {SERVER} sent ")
    assert SECRET not in message
    assert "s3cret" not in message
    assert "lol" not in message


def test_a_bom_and_leading_whitespace_are_fine() -> None:
    body = b"\xef\xbb\xbf \r\n" + sample("empty_payload.xml")
    assert is_xml(body)
    assert media_container(body, SERVER) == {"size": 0}


def test_a_declared_encoding_is_honoured() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><MediaContainer title1="Amélie"/>'
    assert media_container(body.encode("latin-1"), SERVER) == {"title1": "Amélie"}


@pytest.mark.parametrize(
    ("body", "xml"),
    [
        (b"<MediaContainer/>", True),
        (b'\n  <?xml version="1.0"?><MediaContainer/>', True),
        (b'{"MediaContainer": {}}', False),
        (b'  \n{"MediaContainer": {}}', False),
        (b"\xef\xbb\xbf{}", False),
        (b"", False),
    ],
)
def test_xml_is_told_by_its_first_character(body: bytes, xml: bool) -> None:
    assert is_xml(body) is xml


# -- through the client's HTTP path --------------------------------------------------------------


@pytest.fixture
def client() -> PlexClient:
    return PlexClient(BASE, TOKEN)


def test_libraries_from_xml(rsps: responses.RequestsMock, client: PlexClient) -> None:
    rsps.get(
        f"{BASE}/library/sections",
        body=sample("library_sections.xml"),
        content_type="text/xml;charset=utf-8",
    )
    libraries = client.libraries()
    assert [(lib.key, lib.title, lib.type) for lib in libraries] == [
        ("1", "Movies", "movie"),
        ("2", "TV Shows", "show"),
        ("3", "Music", "artist"),
    ]
    assert all(isinstance(lib, Library) for lib in libraries)


def test_library_items_from_xml(rsps: responses.RequestsMock, client: PlexClient) -> None:
    rsps.get(
        f"{BASE}/library/sections/1/all",
        body=sample("library_movies_all.xml"),
        content_type="text/xml;charset=utf-8",
    )
    page = client.library_items(1, offset=0, limit=50)
    assert [item.title for item in page.items] == [f"Movie {n}" for n in range(1, 6)]
    assert page.items[0].genres == ("Sci-Fi", "Action")
    assert page.items[0].year == 2000
    assert (page.total_size, page.offset) == (5, 0)  # no totalSize in this recording


def test_a_page_reads_total_size_and_offset_from_xml(
    rsps: responses.RequestsMock, client: PlexClient
) -> None:
    rsps.get(
        f"{BASE}/library/sections/1/all",
        body=sample("library_movies_size.xml"),
        content_type="text/xml;charset=utf-8",
    )
    page = client.library_items(1, offset=0, limit=0)
    assert (page.items, page.total_size, page.offset) == ([], 1, 0)


def test_xml_mislabelled_as_json_is_read_as_xml(
    rsps: responses.RequestsMock, client: PlexClient
) -> None:
    rsps.get(f"{BASE}/identity", body=captured("/identity"), content_type="application/json")
    assert client.identity().machine_identifier == "b4e051156514c3673d6305f3df48b2bd645d6fd5"


def test_json_mislabelled_as_xml_is_read_as_json(
    rsps: responses.RequestsMock, client: PlexClient
) -> None:
    rsps.get(
        f"{BASE}/identity",
        json={"MediaContainer": {"machineIdentifier": "abc", "version": "1.43", "claimed": True}},
        content_type="text/xml",
    )
    assert client.identity() == ServerIdentity(
        machine_identifier="abc", version="1.43", claimed=True
    )


def test_server_info_from_captured_xml(rsps: responses.RequestsMock, client: PlexClient) -> None:
    rsps.get(f"{BASE}/", body=captured("/"), content_type="text/xml;charset=utf-8")
    info = client.server_info()
    assert (info.name, info.platform) == ("b6f2a1226b70", "Linux")


def test_metadata_and_children_from_xml(rsps: responses.RequestsMock, client: PlexClient) -> None:
    rsps.get(f"{BASE}/library/metadata/1", body=sample("media_1.xml"), content_type="text/xml")
    rsps.get(
        f"{BASE}/library/metadata/30/children", body=sample("album.xml"), content_type="text/xml"
    )
    movie = client.metadata(1)
    assert (movie.title, movie.roles) == ("Movie 1", ("Actor 1", "Actor 2", "Actor 3"))
    assert [child.rating_key for child in client.children(30)] == ["200"]


def test_search_reads_xml_hubs(rsps: responses.RequestsMock, client: PlexClient) -> None:
    # Shaped as PMS's XML for /hubs/search: items under their own tags with a score, and a
    # genre hub whose tag entries are <Directory> without a ratingKey (not media items).
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="3">
<Hub title="Movies" type="movie" hubIdentifier="movie" size="1" more="0">
<Video ratingKey="7" key="/library/metadata/7" type="movie" title="Heat" year="1995" score="0.9"/>
</Hub>
<Hub title="Shows" type="show" hubIdentifier="show" size="1" more="0">
<Directory ratingKey="30" key="/library/metadata/30/children" type="show" title="Heat Wave"
 score="0.5"/>
</Hub>
<Hub title="Genres" type="genre" hubIdentifier="genre" size="1" more="0">
<Directory id="12" filter="genre=12" tag="Heat" tagType="1" type="tag" librarySectionID="1"/>
</Hub>
</MediaContainer>
"""
    rsps.get(f"{BASE}/hubs/search", body=body, content_type="text/xml")
    found = client.search("heat")
    assert [(item.type, item.rating_key, item.score) for item in found] == [
        ("movie", "7", 0.9),
        ("show", "30", 0.5),
    ]


def test_malformed_xml_through_the_client(rsps: responses.RequestsMock, client: PlexClient) -> None:
    rsps.get(
        f"{BASE}/library/sections",
        body=f'<MediaContainer><Directory title="{SECRET}"',
        content_type="text/xml",
    )
    with pytest.raises(PlexBadResponse) as caught:
        client.libraries()
    assert SECRET not in str(caught.value)
    assert TOKEN not in str(caught.value)
