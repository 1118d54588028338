"""Unit tests of PlexClient against `responses`: one behaviour per test, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from plex.client import (
    Image,
    Library,
    MediaItem,
    Page,
    PlexAuthError,
    PlexBadRequest,
    PlexBadResponse,
    PlexClient,
    PlexError,
    PlexNotFound,
    PlexUnavailable,
    ServerIdentity,
    ServerInfo,
)
from plex_emulator.images import render

BASE = "http://plex.test:32400"
TOKEN = "unit-token-abcdefgh123456"

HTML_401 = (
    "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
)
HTML_404 = "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
HTML_400 = (
    "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>"
)
HTML_500 = (
    "<html><head><title>Internal Server Error</title></head>"
    "<body><h1>500 Internal Server Error</h1></body></html>"
)


pytestmark = pytest.mark.usefixtures("no_backoff")  # retries without their pauses


@pytest.fixture
def client() -> PlexClient:
    return PlexClient(BASE, TOKEN)


def mc(**fields: object) -> dict[str, object]:
    return {"MediaContainer": {"size": 0, **fields}}


def query_of(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def movie(rating_key: str, title: str, **extra: object) -> dict[str, object]:
    return {"ratingKey": rating_key, "key": f"/library/metadata/{rating_key}", "type": "movie",
            "title": title, **extra}  # fmt: skip


# -- server_info / identity ---------------------------------------------------------------


def test_server_info_parses_the_root(rsps, client) -> None:
    rsps.get(
        f"{BASE}/",
        json=mc(
            friendlyName="Living room",
            machineIdentifier="abc123",
            version="1.43.2.10687-563d026ea",
            platform="Linux",
            updatedAt=1736487993,
        ),
    )
    info = client.server_info()
    assert info == ServerInfo(
        name="Living room",
        machine_identifier="abc123",
        version="1.43.2.10687-563d026ea",
        platform="Linux",
        updated_at=datetime.fromtimestamp(1736487993, tz=UTC),
    )


def test_server_info_sends_the_token_and_client_headers(rsps, client) -> None:
    rsps.get(f"{BASE}/", json=mc(friendlyName="x"))
    client.server_info()
    headers = rsps.calls[0].request.headers
    assert headers["X-Plex-Token"] == TOKEN
    assert headers["Accept"] == "application/json"
    assert headers["X-Plex-Product"] == "MediaNest"
    assert headers["X-Plex-Client-Identifier"] == "medianest"


def test_identity_parses_machine_identifier_version_and_claimed(rsps, client) -> None:
    rsps.get(f"{BASE}/identity", json=mc(machineIdentifier="abc", version="1.2.3", claimed="1"))
    assert client.identity() == ServerIdentity(
        machine_identifier="abc", version="1.2.3", claimed=True
    )


def test_identity_sends_no_token_header(rsps, client) -> None:
    rsps.get(f"{BASE}/identity", json=mc(machineIdentifier="abc", claimed=False))
    client.identity()
    request = rsps.calls[0].request
    assert "X-Plex-Token" not in request.headers
    assert TOKEN not in request.url


def test_identity_sends_no_token_in_query_mode_either(rsps) -> None:
    client = PlexClient(BASE, TOKEN, token_in_query=True)
    rsps.get(f"{BASE}/identity", json=mc(machineIdentifier="abc"))
    client.identity()
    request = rsps.calls[0].request
    assert "X-Plex-Token" not in request.headers
    assert "X-Plex-Token" not in query_of(rsps.calls[0])


# -- libraries ----------------------------------------------------------------------------


def test_libraries_parses_directory_entries(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/sections",
        json=mc(
            size=2,
            Directory=[
                {"key": 1, "type": "movie", "title": "Movies", "uuid": "u1"},
                {"key": "2", "type": "show", "title": "TV Shows", "uuid": "u2"},
            ],
        ),
    )
    libraries = client.libraries()
    assert [(lib.key, lib.type, lib.title) for lib in libraries] == [
        ("1", "movie", "Movies"),
        ("2", "show", "TV Shows"),
    ]
    assert all(isinstance(lib, Library) for lib in libraries)


def test_libraries_missing_directory_is_an_empty_list(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", json={"MediaContainer": {"size": 0}})
    assert client.libraries() == []


# -- library_items ------------------------------------------------------------------------


def test_it_sends_both_paging_headers(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/1/all", json=mc())
    client.library_items(1, offset=100, limit=25)
    headers = rsps.calls[0].request.headers
    assert headers["X-Plex-Container-Start"] == "100"
    assert headers["X-Plex-Container-Size"] == "25"


def test_it_sends_both_paging_headers_with_the_defaults(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/1/all", json=mc())
    client.library_items("1")
    headers = rsps.calls[0].request.headers
    assert headers["X-Plex-Container-Start"] == "0"
    assert headers["X-Plex-Container-Size"] == "50"


def test_library_items_sends_sort_type_and_include_collections(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/2/all", json=mc())
    client.library_items(2, sort="titleSort:desc", include_collections=True, type="movie")
    assert query_of(rsps.calls[0]) == {
        "sort": ["titleSort:desc"],
        "type": ["1"],
        "includeCollections": ["1"],
    }


def test_library_items_sends_no_optional_params_by_default(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/2/all", json=mc())
    client.library_items(2)
    assert query_of(rsps.calls[0]) == {}


def test_library_items_type_episode_becomes_type_4(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/2/all", json=mc())
    client.library_items(2, type="episode")
    assert query_of(rsps.calls[0])["type"] == ["4"]


def test_library_items_returns_a_page_with_total_size_and_offset(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/sections/1/all",
        json=mc(
            size=2,
            totalSize=1234,
            offset=50,
            Metadata=[movie("10", "Alien", year=1979), movie("11", "Aliens", year="1986")],
        ),
    )
    page = client.library_items(1, offset=50, limit=2)
    assert isinstance(page, Page)
    assert page.total_size == 1234
    assert page.offset == 50
    assert [(i.rating_key, i.title, i.year) for i in page.items] == [
        ("10", "Alien", 1979),
        ("11", "Aliens", 1986),
    ]


def test_library_items_carry_the_section_their_container_names(rsps, client) -> None:
    # Real /all names the section on the container only; an item that names its own keeps it.
    rsps.get(
        f"{BASE}/library/sections/1/all",
        json=mc(
            librarySectionID=1,
            librarySectionTitle="Movies",
            content="secondary",
            totalSize=2,
            offset=0,
            Metadata=[movie("5", "Plain"), movie("6", "Own", librarySectionID=9)],
        ),
    )

    items = client.library_items(1).items

    assert [(item.library_section_id, item.library_section_title) for item in items] == [
        ("1", "Movies"),
        ("9", "Movies"),
    ]


def test_library_items_missing_metadata_is_an_empty_page(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/1/all", json={"MediaContainer": {"size": 0}})
    page = client.library_items(1, offset=0, limit=10)
    assert page.items == []
    assert page.total_size == 0


def test_library_items_rejects_a_key_that_is_not_digits_without_a_request(rsps, client) -> None:
    with pytest.raises(PlexNotFound):
        client.library_items("1/../../identity")
    assert len(rsps.calls) == 0


def test_library_items_unknown_type_is_a_value_error(rsps, client) -> None:
    with pytest.raises(ValueError, match="unknown Plex type"):
        client.library_items(1, type="spaceship")
    assert len(rsps.calls) == 0


# -- search -------------------------------------------------------------------------------

SEARCH_HUBS = mc(
    Hub=[
        {
            "type": "movie",
            "Metadata": [
                movie("1", "Low", score="0.2"),
                movie("2", "High", score="0.9"),
            ],
        },
        {"type": "artist", "title": "Artists", "size": 0},  # no Metadata at all
        {
            "type": "show",
            "Metadata": [
                {"ratingKey": "3", "type": "show", "title": "Middle", "score": 0.5},
                {"ratingKey": "4", "type": "show", "title": "Top", "score": 0.95},
            ],
        },
    ]
)


def test_search_flattens_hubs_sorted_by_score_descending(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/search", json=SEARCH_HUBS)
    results = client.search("x")
    assert [item.title for item in results] == ["Top", "High", "Middle", "Low"]


def test_search_type_filter_keeps_only_that_type(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/search", json=SEARCH_HUBS)
    results = client.search("x", type="movie")
    assert [item.title for item in results] == ["High", "Low"]


def test_search_result_is_capped_at_limit(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/search", json=SEARCH_HUBS)
    results = client.search("x", limit=3)
    assert [item.title for item in results] == ["Top", "High", "Middle"]
    assert query_of(rsps.calls[0])["limit"] == ["3"]


# A real answer's shape: hubs ordered by Plex by the quality of their results, no scores, a
# people hub of tags (Directory, not Metadata) and a movie found through its actor.
REAL_SEARCH_HUBS = mc(
    Hub=[
        {
            "type": "actor",
            "hubIdentifier": "actor",
            "Directory": [{"id": 37, "tag": "Arnold Schwarzenegger", "type": "tag"}],
        },
        {
            "type": "movie",
            "hubIdentifier": "movie",
            "Metadata": [
                movie(
                    "10",
                    "Total Recall",
                    reason="actor",
                    reasonTitle="Arnold Schwarzenegger",
                    reasonID=37,
                ),
                movie("11", "Arnold's Garden"),
                movie("12", "Arnold, the Sequel"),
            ],
        },
        {
            "type": "show",
            "hubIdentifier": "show",
            "Metadata": [{"ratingKey": "13", "type": "show", "title": "Arnold"}],
        },
        {
            "type": "genre",
            "hubIdentifier": "genre",
            "Metadata": [{"ratingKey": "", "type": "genre", "title": "Arnold films"}],
        },
    ]
)


def test_search_without_scores_keeps_plexs_order_direct_matches_first(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/search", json=REAL_SEARCH_HUBS)

    results = client.search("arnold")

    # Plex's hub order, then its order inside each hub; the actor's movie after every title
    # match; the people and genre hubs (tags, not items MediaNest can show) left out.
    assert [item.title for item in results] == [
        "Arnold's Garden",
        "Arnold, the Sequel",
        "Arnold",
        "Total Recall",
    ]
    related = results[-1]
    assert (related.reason, related.reason_title) == ("actor", "Arnold Schwarzenegger")


def test_search_with_some_scores_missing_ranks_by_plexs_order(rsps, client) -> None:
    hubs = mc(
        Hub=[
            {"type": "show", "Metadata": [{"ratingKey": "3", "type": "show", "title": "First"}]},
            {"type": "movie", "Metadata": [movie("1", "Second", score="0.9")]},
        ]
    )
    rsps.get(f"{BASE}/hubs/search", json=hubs)

    assert [item.title for item in client.search("x")] == ["First", "Second"]


def test_search_hubs_without_metadata_give_an_empty_list(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/search", json=mc(Hub=[{"type": "movie", "size": 0}]))
    assert client.search("nothing") == []


def test_search_missing_hub_array_is_an_empty_list(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/search", json={"MediaContainer": {"size": 0}})
    assert client.search("nothing") == []


def test_search_query_is_encoded_exactly_once(rsps, client) -> None:
    original = 'Amélie & "Léon" #1 100% a+b'
    rsps.get(f"{BASE}/hubs/search", json=mc())
    client.search(original)
    call = rsps.calls[0]
    assert parse_qs(urlsplit(call.request.url).query)["query"] == [original]
    assert urlsplit(call.request.url).path == "/hubs/search"


# -- collections --------------------------------------------------------------------------


def test_collections_lists_the_section_collections(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/sections/1/collections",
        json=mc(
            Metadata=[
                {"ratingKey": "900", "type": "collection", "title": "Alien", "childCount": "4",
                 "subtype": "movie"},
            ]
        ),
    )  # fmt: skip
    [collection] = client.collections(1)
    assert (collection.rating_key, collection.type, collection.title) == (
        "900",
        "collection",
        "Alien",
    )
    assert collection.child_count == 4
    assert collection.subtype == "movie"


def test_collection_items_pages_with_headers(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/collections/900/children",
        json=mc(totalSize=4, offset=2, Metadata=[movie("12", "Alien 3")]),
    )
    page = client.collection_items(900, offset=2, limit=1)
    headers = rsps.calls[0].request.headers
    assert (headers["X-Plex-Container-Start"], headers["X-Plex-Container-Size"]) == ("2", "1")
    assert (page.total_size, page.offset) == (4, 2)
    assert [item.title for item in page.items] == ["Alien 3"]


# -- recently_added -----------------------------------------------------------------------


def test_recently_added_without_type_uses_library_recently_added(rsps, client) -> None:
    rsps.get(f"{BASE}/library/recentlyAdded", json=mc(Metadata=[movie("1", "New")]))
    items = client.recently_added(limit=5)
    assert [item.title for item in items] == ["New"]
    request = rsps.calls[0].request
    assert urlsplit(request.url).path == "/library/recentlyAdded"
    assert request.headers["X-Plex-Container-Size"] == "5"


def test_recently_added_with_type_uses_the_home_hub_with_type_id(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/home/recentlyAdded", json=mc(Metadata=[movie("1", "New")]))
    client.recently_added(type="show")
    call = rsps.calls[0]
    assert urlsplit(call.request.url).path == "/hubs/home/recentlyAdded"
    assert query_of(call)["type"] == ["2"]


def test_recently_added_is_capped_at_limit(rsps, client) -> None:
    many = [movie(str(n), f"M{n}") for n in range(1, 6)]
    rsps.get(f"{BASE}/library/recentlyAdded", json=mc(Metadata=many))
    assert [item.title for item in client.recently_added(limit=2)] == ["M1", "M2"]


# -- metadata / children ------------------------------------------------------------------


def test_metadata_parses_genres(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/metadata/44288",
        json=mc(
            Metadata=[
                movie(
                    "44288",
                    "Alien",
                    Genre=[{"tag": "Horror"}, {"tag": "Science Fiction"}],
                    Director=[{"tag": "Ridley Scott"}],
                )
            ]
        ),
    )
    item = client.metadata(44288)
    assert item.genres == ("Horror", "Science Fiction")
    assert item.directors == ("Ridley Scott",)


def test_metadata_without_genre_array_has_no_genres(rsps, client) -> None:
    rsps.get(f"{BASE}/library/metadata/1", json=mc(Metadata=[movie("1", "Plain")]))
    assert client.metadata(1).genres == ()


def test_metadata_with_no_item_is_not_found(rsps, client) -> None:
    rsps.get(f"{BASE}/library/metadata/1", json={"MediaContainer": {"size": 0}})
    with pytest.raises(PlexNotFound):
        client.metadata(1)


def test_children_sends_exclude_all_leaves(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/metadata/7/children",
        json=mc(Metadata=[{"ratingKey": "8", "type": "season", "title": "Season 1", "index": 1}]),
    )
    [season] = client.children(7)
    assert query_of(rsps.calls[0])["excludeAllLeaves"] == ["1"]
    assert (season.type, season.index) == ("season", 1)


def test_children_missing_metadata_is_an_empty_list(rsps, client) -> None:
    rsps.get(f"{BASE}/library/metadata/7/children", json={"MediaContainer": {"size": 0}})
    assert client.children(7) == []


# -- image --------------------------------------------------------------------------------


JPEG = render("unit", 30, 45)


def test_image_returns_bytes_and_content_type(rsps, client) -> None:
    rsps.get(f"{BASE}/photo/:/transcode", body=JPEG, content_type="image/jpeg; charset=binary")
    image = client.image("/library/metadata/1/thumb/2", 300, 450)
    assert image == Image(content=JPEG, content_type="image/jpeg")
    query = query_of(rsps.calls[0])
    assert query["url"] == ["/library/metadata/1/thumb/2"]
    assert (query["width"], query["height"]) == (["300"], ["450"])
    assert rsps.calls[0].request.headers["Accept"] == "image/*"


def test_image_html_answer_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/photo/:/transcode", body="<html>oops</html>", content_type="text/html")
    with pytest.raises(PlexBadResponse):
        client.image("/library/metadata/1/thumb/2", 300, 450)


def test_image_type_comes_from_the_bytes_not_from_plexs_label(rsps, client) -> None:
    gif = render("unit", 20, 30, "GIF")
    rsps.get(f"{BASE}/photo/:/transcode", body=gif, content_type="image/svg+xml")

    assert client.image("/library/metadata/1/thumb/2", 300, 450).content_type == "image/gif"


def test_half_an_image_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/photo/:/transcode", body=JPEG[: len(JPEG) // 2], content_type="image/jpeg")
    with pytest.raises(PlexBadResponse, match="does not decode whole"):
        client.image("/library/metadata/1/thumb/2", 300, 450)


def test_an_svg_labelled_as_an_image_is_a_bad_response(rsps, client) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    rsps.get(f"{BASE}/photo/:/transcode", body=svg, content_type="image/svg+xml")
    with pytest.raises(PlexBadResponse):
        client.image("/library/metadata/1/thumb/2", 300, 450)


def test_an_image_over_the_size_cap_is_a_bad_response(rsps) -> None:
    client = PlexClient(BASE, TOKEN, image_max_bytes=len(JPEG) - 1)
    rsps.get(f"{BASE}/photo/:/transcode", body=JPEG, content_type="image/jpeg")
    with pytest.raises(PlexBadResponse, match="sent more than"):
        client.image("/library/metadata/1/thumb/2", 300, 450)


def test_image_empty_body_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/photo/:/transcode", body=b"", content_type="image/png")
    with pytest.raises(PlexBadResponse):
        client.image("/x", 10, 10)


# -- the token ----------------------------------------------------------------------------


def test_token_is_a_header_and_not_in_the_url_by_default(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", json=mc())
    client.libraries()
    request = rsps.calls[0].request
    assert request.headers["X-Plex-Token"] == TOKEN
    assert TOKEN not in request.url


def test_token_in_query_puts_it_in_the_query_and_not_a_header(rsps) -> None:
    client = PlexClient(BASE, TOKEN, token_in_query=True)
    rsps.get(f"{BASE}/library/sections", json=mc())
    client.libraries()
    call = rsps.calls[0]
    assert query_of(call)["X-Plex-Token"] == [TOKEN]
    assert "X-Plex-Token" not in call.request.headers


def test_repr_does_not_show_the_token(client) -> None:
    assert TOKEN not in repr(client)
    assert "plex.test:32400" in repr(client)


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, HTML_401, PlexAuthError),
        (404, HTML_404, PlexNotFound),
        (400, HTML_400, PlexBadRequest),
    ],
)
def test_client_errors_map_from_plex_html_bodies(rsps, client, status, body, error) -> None:
    rsps.get(f"{BASE}/library/sections", body=body, status=status, content_type="text/html")
    with pytest.raises(error) as caught:
        client.libraries()
    assert caught.value.status == status


def test_500_is_unavailable(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body=HTML_500, status=500, content_type="text/html")
    with pytest.raises(PlexUnavailable) as caught:
        client.libraries()
    assert caught.value.status == 500


def test_other_4xx_is_a_plain_plex_error(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body="teapot", status=418, content_type="text/plain")
    with pytest.raises(PlexError) as caught:
        client.libraries()
    assert type(caught.value) is PlexError
    assert caught.value.status == 418


def test_200_with_non_json_body_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body="<html>welcome</html>", content_type="text/html")
    with pytest.raises(PlexBadResponse, match="not JSON"):
        client.libraries()


def test_json_without_media_container_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", json={"errors": []})
    with pytest.raises(PlexBadResponse, match="MediaContainer"):
        client.libraries()


def test_json_list_body_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", json=[1, 2])
    with pytest.raises(PlexBadResponse):
        client.libraries()


def test_metadata_that_is_not_a_list_is_a_bad_response(rsps, client) -> None:
    rsps.get(f"{BASE}/library/metadata/1", json=mc(Metadata={"ratingKey": "1"}))
    with pytest.raises(PlexBadResponse):
        client.metadata(1)


def test_connection_error_is_unavailable(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(PlexUnavailable, match="refused"):
        client.libraries()


def test_timeout_is_unavailable(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(PlexUnavailable, match="did not answer"):
        client.libraries()


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        PlexClient("plex.test:32400", TOKEN)


ERROR_CASES = {
    "auth": ({"body": HTML_401, "status": 401, "content_type": "text/html"}, PlexAuthError),
    "not_found": ({"body": HTML_404, "status": 404, "content_type": "text/html"}, PlexNotFound),
    "bad_request": ({"body": HTML_400, "status": 400, "content_type": "text/html"}, PlexBadRequest),
    "server_error": (
        {"body": HTML_500, "status": 500, "content_type": "text/html"},
        PlexUnavailable,
    ),
    "unavailable": ({"body": "busy", "status": 503}, PlexUnavailable),
    "not_json": ({"body": "<html/>", "content_type": "text/html"}, PlexBadResponse),
    "no_container": ({"json": {"x": 1}}, PlexBadResponse),
    "connection": (
        {
            "body": requests.ConnectionError(
                f"Max retries exceeded with url: /?X-Plex-Token={TOKEN}"
            )
        },
        PlexUnavailable,
    ),
    "timeout": (
        {"body": requests.ReadTimeout(f"timed out: /?X-Plex-Token={TOKEN}")},
        PlexUnavailable,
    ),
}


@pytest.mark.parametrize("token_in_query", [False, True], ids=["header", "query"])
@pytest.mark.parametrize("kind", list(ERROR_CASES))
def test_error_messages_never_contain_the_token(rsps, kind, token_in_query) -> None:
    answer, error = ERROR_CASES[kind]
    client = PlexClient(BASE, TOKEN, token_in_query=token_in_query)
    rsps.get(f"{BASE}/library/sections", **answer)
    with pytest.raises(error) as caught:
        client.libraries()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)


# -- retries ------------------------------------------------------------------------------


def test_503_then_200_succeeds_after_one_retry() -> None:
    with responses.RequestsMock(registry=OrderedRegistry) as rsps:
        rsps.get(f"{BASE}/library/sections", body="busy", status=503)
        rsps.get(f"{BASE}/library/sections", json=mc(Directory=[{"key": "1", "title": "M"}]))
        client = PlexClient(BASE, TOKEN)
        assert [lib.title for lib in client.libraries()] == ["M"]
        assert len(rsps.calls) == 2


def test_503_forever_is_unavailable_after_exactly_three_calls(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body="busy", status=503)
    with pytest.raises(PlexUnavailable) as caught:
        client.libraries()
    assert caught.value.status == 503
    assert len(rsps.calls) == 3


@pytest.mark.parametrize("status", [502, 504])
def test_other_gateway_errors_are_retried_too(rsps, client, status) -> None:
    rsps.get(f"{BASE}/library/sections", body="gw", status=status)
    with pytest.raises(PlexUnavailable):
        client.libraries()
    assert len(rsps.calls) == 3


def test_500_is_not_retried(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body=HTML_500, status=500, content_type="text/html")
    with pytest.raises(PlexUnavailable):
        client.libraries()
    assert len(rsps.calls) == 1


def test_401_is_not_retried(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body=HTML_401, status=401, content_type="text/html")
    with pytest.raises(PlexAuthError):
        client.libraries()
    assert len(rsps.calls) == 1


def test_404_is_not_retried(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections", body=HTML_404, status=404, content_type="text/html")
    with pytest.raises(PlexNotFound):
        client.libraries()
    assert len(rsps.calls) == 1


# -- watch state, filters, continue watching -------------------------------------------------


def test_scrobble_sends_the_key_and_the_library_identifier_once(rsps, client) -> None:
    # A play counted twice is a user-visible lie: a mark is one attempt, never retried.
    rsps.get(f"{BASE}/:/scrobble", status=503)

    with pytest.raises(PlexUnavailable):
        client.scrobble("42")

    assert len(rsps.calls) == 1
    assert query_of(rsps.calls[0]) == {
        "key": ["42"],
        "identifier": ["com.plexapp.plugins.library"],
    }


def test_unscrobble_asks_the_unscrobble_endpoint(rsps, client) -> None:
    rsps.get(f"{BASE}/:/unscrobble", body="")

    client.unscrobble(7)

    assert query_of(rsps.calls[0])["key"] == ["7"]


def test_a_mark_refuses_a_key_that_is_not_digits_without_a_request(rsps, client) -> None:
    with pytest.raises(PlexNotFound):
        client.scrobble("1&identifier=x")
    assert len(rsps.calls) == 0


def test_continue_watching_falls_back_to_on_deck_on_an_older_server(rsps, client) -> None:
    rsps.get(f"{BASE}/hubs/continueWatching/items", status=404, body=HTML_404)
    rsps.get(f"{BASE}/library/onDeck", json=mc(Metadata=[movie("3", "Half seen")]))

    assert [item.title for item in client.continue_watching(limit=5)] == ["Half seen"]


def test_filter_choices_are_plexs_values_and_titles(rsps, client) -> None:
    rsps.get(
        f"{BASE}/library/sections/1/genre",
        json=mc(
            Directory=[
                {"fastKey": "/library/sections/1/all?genre=89", "key": "89", "title": "Action"},
                {"title": "no key"},
            ]
        ),
    )

    choices = client.filter_choices(1, "genre")

    assert [(c.value, c.title) for c in choices] == [("89", "Action")]


def test_library_items_passes_filters_on_and_refuses_unknown_ones(rsps, client) -> None:
    rsps.get(f"{BASE}/library/sections/1/all", json=mc(totalSize=0))

    client.library_items(1, filters={"genre": "89", "unwatched": "1", "decade": "1990"})
    with pytest.raises(ValueError, match="unknown Plex filter"):
        client.library_items(1, filters={"X-Plex-Token": "stolen"})

    assert query_of(rsps.calls[0]) == {"genre": ["89"], "unwatched": ["1"], "decade": ["1990"]}
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("data", "watched", "progress"),
    [
        ({"type": "movie", "duration": 6_000_000}, False, 0.0),
        ({"type": "movie", "duration": 6_000_000, "viewCount": 2}, True, 1.0),
        ({"type": "movie", "duration": 6_000_000, "viewOffset": 1_500_000}, False, 0.25),
        # Rewatching: watched before, part way through again.
        ({"type": "episode", "duration": 1000, "viewOffset": 500, "viewCount": 1}, True, 0.5),
        ({"type": "season", "leafCount": 10, "viewedLeafCount": 3}, False, 0.3),
        ({"type": "show", "leafCount": 10, "viewedLeafCount": 10}, True, 1.0),
        ({"type": "show", "leafCount": 0}, False, 0.0),
    ],
)
def test_watch_state_in_words_a_page_can_use(data, watched, progress) -> None:
    item = MediaItem(data)

    assert (item.watched, item.progress) == (watched, progress)
