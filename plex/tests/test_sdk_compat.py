"""plex-api-client, the SDK generated from the public OpenAPI description of the Plex Media Server
API (LukeHagar/plex-api-spec), reads what the emulator answers to every request MediaNest sends
(docs/plex-api.md, "Endpoints MediaNest calls"), with the owner's token and with a friend's (a
shared user, who does not see "4K Movies", section 2).

The SDK asks for JSON (`Accept: application/json`) and validates each answer with pydantic models
generated from the spec; a body that does not fit raises `ResponseValidationError`, an error
status raises `SDKError`. The models are lax (numeric strings pass as numbers, unknown keys are
dropped), so a call that parses proves little alone: each test also checks values against the
emulator's library.

Three kinds of test besides the plain ones:
- `emulator_pending`: endpoints MediaNest will use that the emulator does not serve yet. They
  are strict xfails on `SDKError` (the emulator's 404/405): once the emulator serves the endpoint
  they report XPASS as a failure, and the mark goes.
- `test_metadata_item_fails_as_on_a_real_server`: the SDK fails on a real server's answer, so
  it must fail on the emulator's too. It fails while the emulator leaves those fields out.
- "Where the spec is wrong" (the end of the file): a real answer disagrees with the spec. Each
  names the field, the spec's claim and the real sample (copied under plex/tests/data/).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from plex_api_client import PlexAPI
from plex_api_client.models import components, errors, operations
from plex_api_client.utils import BackoffStrategy, RetryConfig, unmarshal_json
from plex_api_client.utils.unmarshal_json_response import unmarshal_json_response
from pydantic import ValidationError

from plex_emulator import Emulator

DATA = Path(__file__).parent / "data"
TIMEOUT = 10
NO_RETRIES = RetryConfig("none", BackoffStrategy(0, 0, 0, 0), False)

MOVIES, UNSHARED, TV, MUSIC = "1", "2", "3", "4"  # "2" is "4K Movies", the owner's alone
PAGE = 48  # what MediaNest's pages ask for


def emulator_pending(what: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(
        raises=errors.SDKError, strict=True, reason=f"the emulator does not serve {what} yet"
    )


# -- connections ----------------------------------------------------------------------------


@pytest.fixture(params=["owner", "friend"])
def who(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def token(emulator: Emulator, who: str) -> str:
    return emulator.owner_token if who == "owner" else emulator.friend_token


@pytest.fixture
def connect(emulator: Emulator) -> Iterator[Callable[..., PlexAPI]]:
    """`connect(token, **query)`: the SDK on the emulator. `query` goes on every request, for
    parameters MediaNest sends that the spec does not list (its request models have no field
    for them): `type` on /hubs/home/recentlyAdded, `excludeAllLeaves` on .../children."""
    clients: list[httpx.Client] = []

    def connect(token: str | None, **query: str) -> PlexAPI:
        client = httpx.Client(params=query, timeout=TIMEOUT)
        clients.append(client)
        return PlexAPI(
            server_url=emulator.url,
            token=token,
            client=client,
            retry_config=NO_RETRIES,
            accepts=components.Accepts.APPLICATION_JSON,
            product="MediaNest",
            client_identifier="medianest-sdk-compat",
        )

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def sdk(connect: Callable[..., PlexAPI], token: str) -> PlexAPI:
    return connect(token)


def plex_get(emulator: Emulator, token: str, path: str, **params: Any) -> httpx.Response:
    """A GET the SDK has no operation for (MediaNest's path differs from the spec's)."""
    response = httpx.get(
        f"{emulator.url}{path}",
        params=params,
        headers={"Accept": "application/json", "X-Plex-Token": token},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response


def parse(model: Any, response: httpx.Response) -> Any:
    """`response` read by the SDK's model for it, as its typed calls read theirs."""
    return unmarshal_json(response.text, model)


# -- the emulator's library -----------------------------------------------------------------


def sections_for(who: str) -> list[str]:
    return [MOVIES, TV, MUSIC] if who == "friend" else [MOVIES, UNSHARED, TV, MUSIC]


def first(emulator: Emulator, section: str, kind: str) -> dict[str, Any]:
    """The first item of a kind in a section, in the library's order."""
    library = emulator.library
    if kind == "collection":
        return library.sections[section].collections[0]
    return next(
        item
        for key, item in library.by_key.items()
        if item["type"] == kind and library.section_of[key] == section
    )


def count(emulator: Emulator, section: str, kind: str) -> int:
    library = emulator.library
    return sum(
        1
        for key, item in library.by_key.items()
        if item["type"] == kind and library.section_of[key] == section
    )


def listing(response: Any) -> components.MediaContainerWithMetadataMediaContainer:
    """The container of a typed answer holding Metadata[] (the SDK types every level Optional)."""
    body = response.media_container_with_metadata
    assert body is not None
    assert body.media_container is not None
    return body.media_container


def metadata(response: Any) -> list[components.Metadata]:
    return listing(response).metadata or []


def hub_listing(response: Any) -> components.MediaContainerWithHubsMediaContainer:
    """The container of a typed answer holding Hub[]."""
    body = response.media_container_with_hubs
    assert body is not None
    assert body.media_container is not None
    return body.media_container


def hubs(response: Any) -> list[components.Hub]:
    return hub_listing(response).hub or []


def not_found(call: Callable[[], object]) -> None:
    with pytest.raises(errors.SDKError) as raised:
        call()
    assert raised.value.status_code == 404


def invalid_fields(error: ValidationError) -> set[str]:
    """Where validation failed, as "Array.field": "Stream.key" for .../Stream/0/key."""
    names = ([part for part in e["loc"] if isinstance(part, str)] for e in error.errors())
    return {f"{path[-2]}.{path[-1]}" for path in names}


# -- endpoints MediaNest calls --------------------------------------------------------------


def test_identity_needs_no_token(connect: Callable[..., PlexAPI], emulator: Emulator) -> None:
    response = connect(None).general.get_identity()

    assert response.status_code == 200
    assert response.object is not None
    container = response.object.media_container
    assert container is not None
    assert container.machine_identifier == emulator.machine_identifier
    assert container.version == emulator.version
    assert container.claimed is True


def test_section_list(emulator: Emulator, token: str, who: str) -> None:
    """MediaNest lists sections with GET /library/sections (the capture has it). The SDK's
    getSections asks for /library/sections/all instead (test_sdk_section_list_path), so this
    reads MediaNest's path with getSections' model."""
    body = parse(operations.GetSectionsResponseBody, plex_get(emulator, token, "/library/sections"))

    assert body.media_container is not None
    directories = body.media_container.directory or []
    library = emulator.library.sections
    assert [d.key for d in directories] == sections_for(who)
    assert [d.title for d in directories] == [library[k].title for k in sections_for(who)]
    assert [d.type for d in directories] == [library[k].type for k in sections_for(who)]
    assert all(d.uuid == library[d.key].uuid for d in directories)
    if who == "friend":
        assert "4K Movies" not in [d.title for d in directories]


def test_sdk_section_list_path(sdk: PlexAPI, who: str) -> None:
    """The spec (not any capture) puts the section list at /library/sections/all; the emulator
    answers it as /library/sections. MediaNest does not call it."""
    response = sdk.library.get_sections()

    assert response.object is not None
    assert response.object.media_container is not None
    assert [d.key for d in response.object.media_container.directory or []] == sections_for(who)


# (section, type, sort, start, includeCollections): what PlexClient.library_items sends.
SECTION_ALL = [
    pytest.param(MOVIES, 1, "titleSort:asc", 0, True, id="movies-title"),
    pytest.param(MOVIES, 1, "titleSort:desc", PAGE, True, id="movies-title-desc-page2"),
    pytest.param(MOVIES, 1, "addedAt:desc", 0, False, id="movies-added"),
    pytest.param(MOVIES, 1, "year:asc", 0, False, id="movies-year"),
    pytest.param(MOVIES, 1, "rating:desc", 0, False, id="movies-rating"),
    pytest.param(TV, 2, "titleSort:asc", 0, True, id="shows"),
    pytest.param(TV, 4, "addedAt:desc", 0, False, id="episodes"),
    pytest.param(MUSIC, 8, "titleSort:asc", 0, False, id="artists"),
    pytest.param(MUSIC, 9, "year:desc", 0, False, id="albums"),
]
TYPE_NAMES = {1: "movie", 2: "show", 4: "episode", 8: "artist", 9: "album"}


@pytest.mark.parametrize(("section", "type_id", "sort", "start", "collections"), SECTION_ALL)
def test_section_all(
    sdk: PlexAPI,
    emulator: Emulator,
    section: str,
    type_id: int,
    sort: str,
    start: int,
    collections: bool,
) -> None:
    response = sdk.content.list_content(
        request={
            "section_id": int(section),
            "media_query": {"type": type_id, "sort": sort},
            "include_collections": 1 if collections else 0,
            "x_plex_container_start": start,
            "x_plex_container_size": PAGE,
            # The spec gives `unwatched` a default of 0 and the SDK sends it, but to Plex
            # `unwatched=0` is a filter (played items only): None leaves it out.
            "unwatched": None,
        }
    )

    assert response.status_code == 200
    container = listing(response)
    kind = TYPE_NAMES[type_id]
    total = count(emulator, section, kind)
    if collections:
        total += len(emulator.library.sections[section].collections)
    assert container.total_size == total
    assert container.offset == start
    items = container.metadata or []
    assert container.size == len(items) == min(PAGE, total - start)
    assert {item.type for item in items} <= {kind, "collection"}
    assert all(item.rating_key and item.title for item in items)
    field, _, direction = sort.partition(":")
    values = [
        getattr(item, {"titleSort": "title_sort", "addedAt": "added_at"}.get(field, field))
        for item in items
    ]
    values = [
        value if value is not None else (0 if field != "titleSort" else "") for value in values
    ]
    assert values == sorted(values, reverse=direction == "desc")


def test_section_collections(sdk: PlexAPI, emulator: Emulator) -> None:
    response = sdk.library.get_collections(request={"section_id": int(MOVIES)})

    library = emulator.library
    expected = library.sections[MOVIES].collections
    items = metadata(response)
    assert [item.title for item in items] == [c["title"] for c in expected]
    assert [item.rating_key for item in items] == [c["ratingKey"] for c in expected]
    for item in items:
        assert item.type == "collection"
        assert item.subtype == "movie"
        assert item.child_count == len(library.collection_items[str(item.rating_key)])
        assert item.key == f"/library/collections/{item.rating_key}/children"


def test_collection_children(sdk: PlexAPI, emulator: Emulator, token: str) -> None:
    """MediaNest pages GET /library/collections/{id}/children. The SDK has no operation for it
    (its getCollectionItems asks for .../items); the spec says /library/collections/{id}/X is
    /library/metadata/{id}/X, so the typed call is getMetadataChildren, and MediaNest's own path
    must read the same through that call's model."""
    collection = emulator.library.sections[MOVIES].collections[0]["ratingKey"]
    members = [m["ratingKey"] for m in emulator.library.collection_items[collection]]

    typed = sdk.library.get_metadata_children(
        request={"id": collection, "x_plex_container_start": 0, "x_plex_container_size": 50}
    )
    direct = parse(
        components.MediaContainerWithMetadata,
        plex_get(
            emulator,
            token,
            f"/library/collections/{collection}/children",
            **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 50},
        ),
    )

    assert [item.rating_key for item in metadata(typed)] == members
    assert direct.media_container is not None
    assert [item.rating_key for item in direct.media_container.metadata or []] == members
    assert direct.media_container.total_size == len(members)


def test_recently_added(sdk: PlexAPI, emulator: Emulator, who: str) -> None:
    """The home page's 24 newest items; the spec lists no paging parameters here, and Plex takes
    them as headers too."""
    response = sdk.library.get_recently_added_global(
        request={}, http_headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "24"}
    )

    library = emulator.library
    visible = sections_for(who)
    expected = [
        i["ratingKey"] for i in library.recent if library.section_of[i["ratingKey"]] in visible
    ]
    items = metadata(response)
    assert [item.rating_key for item in items] == expected[:24]
    added = [item.added_at or 0 for item in items]
    assert added == sorted(added, reverse=True)
    assert {str(item.library_section_id) for item in items} <= set(visible)


def test_search(sdk: PlexAPI) -> None:
    response = sdk.search.search_hubs(request={"query": "amelie", "limit": 3})

    assert response.status_code == 200
    found = hubs(response)
    assert all(len(hub.metadata or []) <= 3 for hub in found)
    movies = next(hub for hub in found if hub.hub_identifier == "movie")
    assert "Amélie's Garden" in [item.title for item in movies.metadata or []]


def test_search_leaves_out_the_unshared_section(
    connect: Callable[..., PlexAPI], emulator: Emulator
) -> None:
    library = emulator.library
    shared_titles = {
        item["title"] for key, item in library.by_key.items() if library.section_of[key] != UNSHARED
    }
    uhd = next(i for i in library.sections[UNSHARED].items if i["title"] not in shared_titles)
    uhd_keys = {i["ratingKey"] for i in library.sections[UNSHARED].items}

    def found(token: str) -> set[str]:
        response = connect(token).search.search_hubs(request={"query": uhd["title"], "limit": 10})
        return {item.rating_key or "" for hub in hubs(response) for item in hub.metadata or []}

    assert uhd["ratingKey"] in found(emulator.owner_token)
    assert not found(emulator.friend_token) & uhd_keys


@pytest.mark.parametrize(
    ("section", "kind"),
    [
        (TV, "season"),
        (MUSIC, "artist"),
        (MUSIC, "album"),
        (MUSIC, "track"),
        (MOVIES, "collection"),
    ],
)
def test_metadata_item(sdk: PlexAPI, emulator: Emulator, section: str, kind: str) -> None:
    """Movies, shows and episodes: test_metadata_item_fails_as_on_a_real_server."""
    item = first(emulator, section, kind)

    response = sdk.content.get_metadata_item(request={"ids": [item["ratingKey"]]})

    (typed,) = metadata(response)
    assert typed.rating_key == item["ratingKey"]
    assert typed.title == item["title"]
    assert typed.type == kind
    assert typed.library_section_id == int(section)
    assert [g.tag for g in typed.genre or []] == [g["tag"] for g in item.get("Genre", [])]


# What the spec rejects in real answers (test_real_metadata_breaks_the_sdk): a movie's or an
# episode's Media[].Part[].Stream[] entries carry no `key`, a show's Rating[] entries no `tag`
# (movies and episodes may carry such a Rating[] too).
REAL_SHAPE_ERRORS = {"movie": {"Stream.key"}, "episode": {"Stream.key"}, "show": {"Rating.tag"}}
ANY_REAL_SHAPE_ERROR = {"Stream.key", "Rating.tag"}


@pytest.mark.parametrize(("section", "kind"), [(MOVIES, "movie"), (TV, "show"), (TV, "episode")])
def test_metadata_item_fails_as_on_a_real_server(
    sdk: PlexAPI, emulator: Emulator, section: str, kind: str
) -> None:
    """The SDK cannot read a real movie, show or episode (test_real_metadata_breaks_the_sdk), so
    it must not read the emulator's either: an emulator it reads leaves out arrays real servers
    send (Media[].Part[].Stream[], Rating[]), and hides that the SDK fails on them. Apart from
    those fields, the answer is the item asked for."""
    item = first(emulator, section, kind)

    with pytest.raises(errors.ResponseValidationError) as raised:
        sdk.content.get_metadata_item(request={"ids": [item["ratingKey"]]})

    assert isinstance(raised.value.cause, ValidationError)
    assert REAL_SHAPE_ERRORS[kind] <= invalid_fields(raised.value.cause) <= ANY_REAL_SHAPE_ERROR
    body = json.loads(raised.value.body)["MediaContainer"]["Metadata"][0]
    assert (body["ratingKey"], body["title"]) == (item["ratingKey"], item["title"])


@pytest.mark.parametrize(
    ("section", "kind", "child"),
    [
        (TV, "show", "season"),
        (TV, "season", "episode"),
        (MUSIC, "artist", "album"),
        (MUSIC, "album", "track"),
    ],
)
def test_children(
    connect: Callable[..., PlexAPI],
    token: str,
    emulator: Emulator,
    section: str,
    kind: str,
    child: str,
) -> None:
    """With excludeAllLeaves=1, a show lists its seasons without the "All episodes" entry."""
    parent = first(emulator, section, kind)
    sdk = connect(token, excludeAllLeaves="1")

    response = sdk.library.get_metadata_children(request={"id": parent["ratingKey"]})

    expected = emulator.library.children_of[parent["ratingKey"]]
    items = metadata(response)
    assert [item.rating_key for item in items] == [c["ratingKey"] for c in expected]
    assert [item.title for item in items] == [c["title"] for c in expected]
    assert {item.type for item in items} == {child}


def test_image(sdk: PlexAPI, emulator: Emulator) -> None:
    thumb = first(emulator, MOVIES, "movie")["thumb"]

    response = sdk.transcoder.transcode_image(
        request={"url": thumb, "width": 300, "height": 450, "min_size": 1, "upscale": 1}
    )

    assert response.status_code == 200
    assert response.content_type.startswith("image/jpeg")
    stream = response.two_hundred_image_jpeg_response_stream
    assert stream is not None
    with Image.open(io.BytesIO(stream.read())) as image:
        assert image.format == "JPEG"
        assert image.size == (300, 450)


# Every call a friend makes about the unshared section or its items: 404, as the owner's works.
UNSHARED_CALLS: dict[str, Callable[[PlexAPI, Emulator], object]] = {
    "section all": lambda sdk, emulator: sdk.content.list_content(
        request={"section_id": int(UNSHARED)}
    ),
    "section collections": lambda sdk, emulator: sdk.library.get_collections(
        request={"section_id": int(UNSHARED)}
    ),
    "collection children": lambda sdk, emulator: sdk.library.get_metadata_children(
        request={"id": first(emulator, UNSHARED, "collection")["ratingKey"]}
    ),
    "image": lambda sdk, emulator: sdk.transcoder.transcode_image(
        request={"url": first(emulator, UNSHARED, "movie")["thumb"], "width": 300, "height": 450}
    ),
}


@pytest.mark.parametrize("call", UNSHARED_CALLS.values(), ids=UNSHARED_CALLS.keys())
def test_unshared_section_is_not_found(
    connect: Callable[..., PlexAPI],
    emulator: Emulator,
    call: Callable[[PlexAPI, Emulator], Any],
) -> None:
    assert call(connect(emulator.owner_token), emulator).status_code == 200
    not_found(lambda: call(connect(emulator.friend_token), emulator))


def test_unshared_item_metadata_is_not_found(
    connect: Callable[..., PlexAPI], emulator: Emulator
) -> None:
    """The metadata of a 4K collection (no Stream[] to trip the SDK, see test_metadata_item)."""
    collection = first(emulator, UNSHARED, "collection")["ratingKey"]

    def call(token: str) -> Any:
        return connect(token).content.get_metadata_item(request={"ids": [collection]})

    assert metadata(call(emulator.owner_token))[0].rating_key == collection
    not_found(lambda: call(emulator.friend_token))


# -- endpoints MediaNest will call ----------------------------------------------------------
# The SDK has no operation for /library/sections/{key}/genre|year|decade|contentRating (its
# byYear/byDecade/byContentRating are other paths) nor for /library/onDeck: no test here.


def visible_items(items: list[components.Metadata], who: str) -> bool:
    return all(str(item.library_section_id) in sections_for(who) for item in items)


def test_home_hubs(sdk: PlexAPI, who: str) -> None:
    response = sdk.hubs.get_all_hubs(request={})

    found = hubs(response)
    assert found
    assert all(hub.hub_identifier and hub.title for hub in found)
    assert any(hub.metadata for hub in found)
    assert all(visible_items(hub.metadata or [], who) for hub in found)


def test_continue_watching(sdk: PlexAPI, who: str) -> None:
    response = sdk.hubs.get_continue_watching_items(request={})

    assert response.status_code == 200
    assert listing(response) is not None
    items = metadata(response)
    assert visible_items(items, who)
    assert all(item.type in {"movie", "episode"} for item in items)


def test_section_hubs(sdk: PlexAPI, who: str) -> None:
    response = sdk.hubs.get_section_hubs(request={"section_id": int(MOVIES)})

    found = hubs(response)
    assert found
    items = [item for hub in found for item in hub.metadata or []]
    assert items
    assert {item.library_section_id for item in items} == {int(MOVIES)}
    if who == "friend":
        not_found(lambda: sdk.hubs.get_section_hubs(request={"section_id": int(UNSHARED)}))


def view_count(emulator: Emulator, token: str, rating_key: str) -> int:
    """What MediaNest reads back: viewCount, left out when unplayed."""
    body = plex_get(emulator, token, f"/library/metadata/{rating_key}").json()
    return body["MediaContainer"]["Metadata"][0].get("viewCount", 0)


def test_scrobble_and_unscrobble(sdk: PlexAPI, emulator: Emulator, token: str, who: str) -> None:
    """Played and unplayed again, for this token alone: Plex keeps watch state per user."""
    section = emulator.library.sections[MOVIES]
    movie = next(
        i
        for i in section.items
        if not emulator.watch_state("owner", i["ratingKey"])
        and not emulator.watch_state("friend", i["ratingKey"])
    )
    uri = f"library://{section.uuid}/item/%2Flibrary%2Fmetadata%2F{movie['ratingKey']}"
    other = emulator.friend_token if who == "owner" else emulator.owner_token
    request: operations.MarkPlayedRequestTypedDict = {
        "identifier": "com.plexapp.plugins.library",
        "key": movie["ratingKey"],
        "uri": uri,
    }
    try:
        assert sdk.timeline.mark_played(request=request).status_code == 200
        assert view_count(emulator, token, movie["ratingKey"]) == 1
        assert view_count(emulator, other, movie["ratingKey"]) == 0

        assert sdk.timeline.unscrobble(request=request).status_code == 200
        assert view_count(emulator, token, movie["ratingKey"]) == 0
    finally:  # the emulator serves the whole run: leave the seeded watch state
        emulator.reset_watch()


# -- where the spec is wrong ----------------------------------------------------------------


def test_server_root_is_not_read(sdk: PlexAPI, emulator: Emulator) -> None:
    """GET /: the spec puts the server's attributes at the top of the JSON body
    (getServerInfo's 200 schema has no MediaContainer), but every JSON answer of Plex wraps them
    in `MediaContainer` (docs/plex-api.md, Formats; the real root is `<MediaContainer
    friendlyName=...>`, plex/tests/data/root.xml). The SDK drops the unknown key and reads
    nothing: every field comes back None, with no error. MediaNest reads this endpoint itself."""
    response = sdk.general.get_server_info(request={})

    assert response.status_code == 200
    assert response.object is not None
    assert response.object.friendly_name is None
    assert response.object.machine_identifier is None
    assert response.object.version is None
    raw = response.raw_response.json()["MediaContainer"]
    assert raw["friendlyName"] == emulator.friendly_name
    assert raw["machineIdentifier"] == emulator.machine_identifier
    assert raw["version"] == emulator.version


def test_server_root_lists_are_strings() -> None:
    """GET /, the next error once the wrapper is fixed: the spec declares `diagnostics`,
    `ownerFeatures` and `transcoderVideoBitrates|Qualities|Resolutions` arrays of strings; real
    servers send comma-separated strings (plex/tests/data/sdk_server_attributes.json, the server
    attributes of a real JSON answer, LukeHagar/plex-api-spec's recorded
    `media_providers_get-media-providers.json`; XML capture of / alike: diagnostics=
    "logs,databases,streaminglogs"). Read as the spec says (unwrapped), they fail validation."""
    real = json.loads((DATA / "sdk_server_attributes.json").read_text())["MediaContainer"]

    with pytest.raises(ValidationError) as raised:
        unmarshal_json(json.dumps(real), operations.GetServerInfoResponseBody)

    failed = {str(error["loc"][-1]) for error in raised.value.errors()}
    assert failed == {
        "diagnostics",
        "ownerFeatures",
        "transcoderVideoBitrates",
        "transcoderVideoQualities",
        "transcoderVideoResolutions",
    }


@pytest.mark.parametrize(
    ("sample", "fields"),
    [
        ("metadata_movie.json", {"Stream.key", "Rating.tag"}),
        ("metadata_show.json", {"Rating.tag"}),
    ],
)
def test_real_metadata_breaks_the_sdk(sample: str, fields: set[str]) -> None:
    """GET /library/metadata/{ratingKey}: the spec requires `key` on every Stream (in
    Media[].Part[]) and `tag` on every Rating; real answers have neither: streams are
    `{"id", "streamType", "codec", "displayTitle", ...}` and ratings `{"image":
    "imdb://image.rating", "value": 9, "type": "audience"}` (plex/tests/data/metadata_movie.json
    and metadata_show.json, trimmed from LukeHagar/plex-api-spec's recorded responses; all six
    recorded items fail alike). So the SDK's getMetadataItem raises ResponseValidationError on a
    real movie, show or episode."""
    body = (DATA / sample).read_text()
    response = httpx.Response(200, text=body, headers={"Content-Type": "application/json"})

    with pytest.raises(errors.ResponseValidationError) as raised:
        unmarshal_json_response(components.MediaContainerWithMetadata, response)

    assert isinstance(raised.value.cause, ValidationError)
    assert invalid_fields(raised.value.cause) == fields


@pytest.mark.parametrize(("type_id", "kinds"), [(1, {"movie"}), (2, {"show", "season", "episode"})])
def test_home_recently_added_items_are_dropped(
    connect: Callable[..., PlexAPI], token: str, who: str, type_id: int, kinds: set[str]
) -> None:
    """GET /hubs/home/recentlyAdded?type=N: the spec answers Hub[] (MediaContainerWithHubs) and
    lists no `type` parameter; real servers answer Metadata[] (plex/tests/data/recently_added.json,
    test_real_home_recently_added). The SDK drops the unknown array: the call succeeds with no
    items. MediaNest reads this endpoint itself."""
    sdk = connect(token, type=str(type_id))

    response = sdk.hubs.get_home_recently_added(
        request={}, http_headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "24"}
    )

    container = hub_listing(response)
    assert container.hub is None
    items = response.raw_response.json()["MediaContainer"]["Metadata"]
    assert container.size == len(items)
    assert 0 < len(items) <= 24
    assert {item["type"] for item in items} <= kinds
    assert {str(item["librarySectionID"]) for item in items} <= set(sections_for(who))
    added = [item["addedAt"] for item in items]
    assert added == sorted(added, reverse=True)


def test_real_home_recently_added() -> None:
    """The real answer behind test_home_recently_added_items_are_dropped: Metadata[], no Hub[]."""
    body = json.loads((DATA / "recently_added.json").read_text())

    parsed = unmarshal_json(json.dumps(body), components.MediaContainerWithHubs)

    assert body["MediaContainer"]["Metadata"]
    assert "Hub" not in body["MediaContainer"]
    assert parsed.media_container.hub is None
