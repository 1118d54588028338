"""The server-rendered pages over the real Redis and the Plex emulator, through Django's test
client: what a friend of the server's owner sees in a browser, including while Plex is down."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from django.template.loader import render_to_string
from django.test import Client

from accounts.models import User
from plex.cache import Cached
from plex.models import ServiceConfig
from plex.pages.display import paginate, stale_notice
from plex.tests.cached import expire_fresh_copies
from plex_emulator import Emulator

SIGN_IN_AGAIN = "Plex no longer accepts your sign-in. Sign in with Plex again."


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def keys(emulator: Emulator) -> dict[str, Any]:
    """Keys and values of the emulator's library, read from its data (no request to it)."""
    library = emulator.library
    show = library.sections["3"].items[0]
    season = library.children_of[show["ratingKey"]][0]
    movie = library.sections["1"].items[0]
    collection = library.sections["1"].collections[0]
    return {
        "movie": movie,
        "show": show,
        "season": season,
        "episodes": library.children_of[season["ratingKey"]],
        "seasons": library.children_of[show["ratingKey"]],
        "collection": collection,
        "collection_items": library.collection_items[collection["ratingKey"]],
        "uhd": library.sections["2"].items[0],
    }


# -- reading pages ----------------------------------------------------------------------------


def page(client: Client, url: str, status: int = 200, **params: Any) -> str:
    response = client.get(url, params)
    assert response.status_code == status, (url, response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def texts(document: str, css_class: str) -> list[str]:
    """The text of every `<span class="css_class">` (cards' titles, metadata...)."""
    found = re.findall(rf'<span class="{css_class}">(.*?)</span>', document, re.S)
    return [html.unescape(text).strip() for text in found]


def image_sources(document: str) -> list[str]:
    return [html.unescape(src) for src in re.findall(r'<img[^>]*\ssrc="([^"]*)"', document)]


def section(document: str, heading_id: str) -> str:
    """The part of the page from one heading to the next section."""
    start = document.index(f'id="{heading_id}"')
    end = document.find("</section>", start)
    return document[start:end]


def every_page(keys: dict[str, Any]) -> Iterator[str]:
    yield "/"
    yield "/library/1/"
    yield "/library/1/?page=2&sort=year:desc"
    yield "/library/1/?genre=106&unwatched=1&sort=year:desc"
    yield "/library/3/"
    yield "/library/1/collections/"
    yield f"/collection/{keys['collection']['ratingKey']}/"
    yield f"/item/{keys['movie']['ratingKey']}/"
    yield f"/item/{keys['show']['ratingKey']}/"
    yield f"/item/{keys['season']['ratingKey']}/"
    yield f"/item/{keys['episodes'][0]['ratingKey']}/"
    yield "/search/?q=garden"
    yield "/search/?q=zzzz-nothing"
    yield "/search/"


# -- signed in or not ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/", "/library/1/", "/library/1/collections/", "/item/1001/", "/search/?q=a"]
)
def test_anonymous_visitors_are_sent_to_sign_in_and_back(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/signin/?next=")


@pytest.mark.django_db
def test_the_header_has_the_site_name_search_form_user_and_sign_out(
    friend_client: Client,
) -> None:
    document = page(friend_client, "/")

    assert '<html lang="en">' in document
    assert '<meta name="viewport"' in document
    assert '<a class="site-name" href="/">MediaNest</a>' in document
    assert 'role="search" action="/search/"' in document
    assert '<label for="site-search-q"' in document
    assert 'name="q"' in document
    assert 'href="#content"' in document  # skip link
    assert "friend" in texts(document, "site-user-name")
    assert 'action="/accounts/signout/"' in document
    assert "csrfmiddlewaretoken" in document


# -- home ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_lists_the_friends_libraries_and_recent_posters(
    friend_client: Client, emulator: Emulator
) -> None:
    document = page(friend_client, "/")

    libraries = texts(section(document, "libraries-heading"), "library-title")
    assert libraries == ["Movies", "TV Shows", "Music"]  # never the owner's "4K Movies"
    assert "4K Movies" not in document
    assert 'href="/library/1/"' in document
    recent = section(document, "recent-heading")
    sources = image_sources(recent)
    assert len(sources) >= 10
    assert all(src.startswith("/api/v1/plex/image?") for src in sources)
    assert 'srcset="/api/v1/plex/image?' in recent
    assert 'width="150" height="225" loading="lazy"' in recent


@pytest.mark.django_db
def test_new_episodes_show_on_home_as_their_season_saying_whose_and_how_many(
    friend_client: Client, emulator: Emulator
) -> None:
    # Plex groups new episodes into their season in recently added; the card must say which
    # show it is (a bare "Season 2" says nothing) and how many episodes.
    newest = requests.get(
        f"{emulator.url}/library/recentlyAdded",
        headers={"Accept": "application/json", "X-Plex-Token": emulator.friend_token,
                 "X-Plex-Container-Start": "0", "X-Plex-Container-Size": "24"},
        timeout=10,
    ).json()["MediaContainer"]["Metadata"]  # fmt: skip
    seasons = [entry for entry in newest if entry["type"] == "season"]
    assert seasons, "no season among the newest: the emulator no longer groups episodes"

    recent = section(page(friend_client, "/"), "recent-heading")

    cards = [
        (texts(card, "card-title")[0], " ".join(texts(card, "card-meta")))
        for card in recent.split('<li class="card">')[1:]
    ]
    for season in seasons:
        episodes = season["leafCount"]
        words = f"{season['parentTitle']} · {episodes} episode{'s' if episodes != 1 else ''}"
        assert (season["title"], words) in cards


@pytest.mark.django_db
def test_the_owner_sees_the_4k_library_too(owner_client: Client) -> None:
    document = page(owner_client, "/")

    assert "4K Movies" in texts(document, "library-title")


# -- a library ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_library_page_two_shows_the_next_48_items_and_marks_page_two_current(
    friend_client: Client, emulator: Emulator
) -> None:
    everything = emulator.library.sorted_items(emulator.library.sections["1"], 1, "titleSort:asc")
    expected = [item["title"] for item in everything[48:96]]

    document = page(friend_client, "/library/1/", page=2)

    assert texts(document, "card-title") == expected
    assert '<a href="/library/1/?page=2" aria-current="page">' in document
    assert document.count('aria-current="page"><span class="visually-hidden">Page') == 1
    assert 'href="/library/1/?page=3" rel="next">Next</a>' in document
    assert 'href="/library/1/" rel="prev">Previous</a>' in document  # page 1: no parameter
    assert '<p class="count">240 movies</p>' in document
    assert "Page 2 of 5" in document


@pytest.mark.django_db
def test_pagination_shows_a_window_with_the_first_and_last_pages(friend_client: Client) -> None:
    document = page(friend_client, "/library/1/")

    numbers = re.findall(r'<span class="visually-hidden">Page </span>(\d+)</a>', document)
    assert numbers == ["1", "2", "3", "5"]
    assert '<span class="gap" aria-hidden="true">…</span>' in document
    assert '<span class="disabled" aria-disabled="true">Previous</span>' in document


@pytest.mark.django_db
def test_sorting_by_year_descending_orders_the_grid_by_year(friend_client: Client) -> None:
    document = page(friend_client, "/library/1/", sort="year:desc")

    years = [int(year) for year in texts(document, "card-meta")]
    assert len(years) == 48
    assert years == sorted(years, reverse=True)
    assert '<option value="year:desc" selected>Year</option>' in document
    # Pagination keeps the sort.
    assert 'href="/library/1/?sort=year%3Adesc&amp;page=2"' in document


@pytest.mark.django_db
def test_the_sort_menu_offers_four_orders_in_a_form_that_works_without_script(
    friend_client: Client,
) -> None:
    document = page(friend_client, "/library/1/")

    form = document[document.index('class="sort-form"') :]
    form = form[: form.index("</form>")]
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', form)
    assert options == [
        ("titleSort:asc", "Title"),
        ("addedAt:desc", "Recently added"),
        ("year:desc", "Year"),
        ("rating:desc", "Rating"),
    ]
    assert 'method="get"' in form
    assert '<button type="submit"' in form
    assert '<label for="sort">' in form


@pytest.mark.django_db
def test_a_tv_library_lists_its_shows(friend_client: Client, emulator: Emulator) -> None:
    shows = emulator.library.sorted_items(emulator.library.sections["3"], 2, "titleSort:asc")

    document = page(friend_client, "/library/3/")

    assert texts(document, "card-title") == [show["title"] for show in shows]
    assert f"{len(shows)} shows" in document
    assert f'href="/item/{shows[0]["ratingKey"]}/"' in document
    assert 'href="/library/3/collections/"' in document


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=abc", "is not a page number"),
        ("page=0", "is not a page number"),
        ("page=-1", "is not a page number"),
        ("sort=title:up", "Sort by one of: Title, Recently added, Year, Rating."),
    ],
)
def test_an_invalid_page_or_sort_is_a_400_page_that_says_why(
    friend_client: Client, query: str, message: str
) -> None:
    document = page(friend_client, f"/library/1/?{query}", status=400)

    assert message in html.unescape(document)


@pytest.mark.django_db
def test_a_page_past_the_end_is_a_404(friend_client: Client) -> None:
    page(friend_client, "/library/1/", status=404, page=99)


@pytest.mark.django_db
def test_a_library_not_shared_with_the_friend_is_a_404(friend_client: Client) -> None:
    document = page(friend_client, "/library/2/", status=404)

    assert "Not found" in document


# -- items ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_movie_page_shows_its_details(friend_client: Client, keys: dict[str, Any]) -> None:
    movie = keys["movie"]

    document = html.unescape(page(friend_client, f"/item/{movie['ratingKey']}/"))

    assert f"<h1>{movie['title']}</h1>" in document
    assert movie["summary"] in document
    for genre in movie["Genre"]:
        assert f'<span class="tag">{genre["tag"]}</span>' in document
    assert str(movie["year"]) in document
    assert movie["contentRating"] in document
    hours, minutes = divmod(round(movie["duration"] / 60_000), 60)
    assert (f"{hours} h {minutes} m" if hours else f"{minutes} m") in document
    assert f"Critics {movie['rating']:.1f}/10" in document
    assert 'width="300" height="450"' in document
    assert "Home" in document
    assert 'href="/library/1/">Movies</a>' in document


@pytest.mark.django_db
def test_a_show_page_lists_its_seasons(friend_client: Client, keys: dict[str, Any]) -> None:
    document = page(friend_client, f"/item/{keys['show']['ratingKey']}/")

    children = section(document, "children-heading")
    assert ">Seasons</h2>" in children
    assert texts(children, "card-title") == [season["title"] for season in keys["seasons"]]
    assert f'href="/item/{keys["season"]["ratingKey"]}/"' in children


@pytest.mark.django_db
def test_a_season_page_lists_numbered_episodes_under_breadcrumbs(
    friend_client: Client, keys: dict[str, Any]
) -> None:
    show, season = keys["show"], keys["season"]

    document = page(friend_client, f"/item/{season['ratingKey']}/")

    crumbs = document[document.index('aria-label="Breadcrumbs"') :]
    crumbs = html.unescape(crumbs[: crumbs.index("</nav>")])
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', crumbs)
    assert links == [
        ("/", "Home"),
        ("/library/3/", "TV Shows"),
        (f"/item/{show['ratingKey']}/", show["title"]),
        (f"/item/{season['ratingKey']}/", season["title"]),
    ]
    episodes = section(document, "children-heading")
    assert ">Episodes</h2>" in episodes
    assert texts(episodes, "episode-number") == [str(ep["index"]) for ep in keys["episodes"]]
    assert texts(episodes, "episode-title") == [ep["title"] for ep in keys["episodes"]]


@pytest.mark.django_db
def test_an_episode_page_names_its_show_and_season(
    friend_client: Client, keys: dict[str, Any]
) -> None:
    episode, season = keys["episodes"][1], keys["season"]

    document = html.unescape(page(friend_client, f"/item/{episode['ratingKey']}/"))

    assert f"S{season['index']} E{episode['index']}" in document
    assert f'href="/item/{keys["show"]["ratingKey"]}/">{keys["show"]["title"]}</a>' in document
    assert f'href="/item/{season["ratingKey"]}/">{season["title"]}</a>' in document


@pytest.mark.django_db
def test_an_unknown_item_is_the_sites_404_page(friend_client: Client) -> None:
    document = page(friend_client, "/item/99999999/", status=404)

    assert "Not found" in document
    assert 'class="site-name"' in document  # the site's page, not Django's


@pytest.mark.django_db
def test_an_item_not_shared_with_the_friend_is_a_404(
    friend_client: Client, keys: dict[str, Any]
) -> None:
    document = page(friend_client, f"/item/{keys['uhd']['ratingKey']}/", status=404)

    assert keys["uhd"]["title"] not in document


# -- collections ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_librarys_collections_and_one_collection(
    friend_client: Client, emulator: Emulator, keys: dict[str, Any]
) -> None:
    collections = emulator.library.sections["1"].collections

    listing = page(friend_client, "/library/1/collections/")

    assert texts(listing, "card-title") == [c["title"] for c in collections]
    rating_key = keys["collection"]["ratingKey"]
    assert f'href="/collection/{rating_key}/"' in listing
    assert all(src.startswith("/api/v1/plex/image?") for src in image_sources(listing))

    document = page(friend_client, f"/collection/{rating_key}/")

    titles = [item["title"] for item in keys["collection_items"]]
    assert texts(document, "card-title") == titles
    assert f"{len(titles)} items" in document
    assert f"<h1>{html.escape(keys['collection']['title'], quote=False)}</h1>" in document
    assert 'href="/library/1/collections/">Collections</a>' in document


@pytest.mark.django_db
def test_an_item_link_to_a_collection_goes_to_the_collection_page(
    friend_client: Client, keys: dict[str, Any]
) -> None:
    rating_key = keys["collection"]["ratingKey"]

    response = friend_client.get(f"/item/{rating_key}/")

    assert (response.status_code, response["Location"]) == (302, f"/collection/{rating_key}/")


# -- search ---------------------------------------------------------------------------------------


def _word_in_movies_and_episodes(emulator: Emulator) -> str:
    """A word that some movie and some episode titles share, from the emulator's data."""
    library = emulator.library
    movie_words = {
        word.casefold()
        for item in library.sections["1"].items
        for word in item["title"].split()
        if len(word) > 4
    }
    for item in library.by_key.values():
        if item["type"] == "episode":
            for word in item["title"].split():
                if word.casefold() in movie_words:
                    return word
    raise AssertionError("no shared word in the emulator's titles")


@pytest.mark.django_db
def test_search_groups_results_by_type_with_posters(
    friend_client: Client, emulator: Emulator
) -> None:
    word = _word_in_movies_and_episodes(emulator)

    document = page(friend_client, "/search/", q=word)
    ranked = friend_client.get("/api/v1/plex/search", {"q": word, "limit": 60}).json()

    headings = re.findall(r'<h2 id="group-(\w+)">(\w+)', document)
    kinds = [kind for kind, _ in headings]
    assert {"movie", "episode"} <= set(kinds)
    # Groups in the order of their best match, as Plex ranked them.
    assert kinds == list(dict.fromkeys(item["type"] for item in ranked))
    assert ("movie", "Movies") in headings
    assert ("episode", "Episodes") in headings
    assert all(word.casefold() in title.casefold() for title in texts(document, "card-title"))
    assert image_sources(section(document, "group-movie"))
    assert f'name="q" value="{word}"' in document  # both forms pre-filled


@pytest.mark.django_db
def test_search_can_be_limited_to_one_type(friend_client: Client, emulator: Emulator) -> None:
    word = _word_in_movies_and_episodes(emulator)

    document = page(friend_client, "/search/", q=word, type="episode")

    assert re.findall(r'<h2 id="group-(\w+)">', document) == ["episode"]
    assert '<option value="episode" selected>Episodes</option>' in document


@pytest.mark.django_db
def test_search_without_results_says_so(friend_client: Client) -> None:
    document = page(friend_client, "/search/", q="qqqxxyyzz")

    assert "No results for “qqqxxyyzz”." in document
    assert "group-" not in document


@pytest.mark.django_db
def test_search_never_shows_what_is_not_shared_with_the_friend(
    friend_client: Client, keys: dict[str, Any]
) -> None:
    title = keys["uhd"]["title"]

    document = html.unescape(page(friend_client, "/search/", q=title, type="movie"))

    assert f"/item/{keys['uhd']['ratingKey']}/" not in document


@pytest.mark.django_db
def test_an_empty_search_shows_the_form_only(friend_client: Client) -> None:
    document = page(friend_client, "/search/")

    assert '<input id="search-q"' in document
    assert "No results" not in document


@pytest.mark.django_db
def test_an_unknown_search_type_is_a_400(friend_client: Client) -> None:
    document = page(friend_client, "/search/", status=400, q="garden", type="photos")

    assert "Search for one of: Movies" in document


# -- Plex down, tokens rejected, nothing set up ----------------------------------------------


@pytest.mark.django_db
def test_a_page_warmed_before_plex_fails_shows_the_stale_banner(
    friend_client: Client, emulator: Emulator, redis_client: redis.Redis
) -> None:
    warm = page(friend_client, "/library/1/", page=2)
    assert 'class="banner"' not in warm
    emulator.set_fault("status", status=503)
    expire_fresh_copies()

    document = page(friend_client, "/library/1/", page=2)

    banner = re.search(r'<p class="banner" role="status">([^<]+)</p>', document)
    assert banner is not None
    assert banner.group(1) == (
        "Plex is not answering; showing what MediaNest saw less than a minute ago."
    )
    assert texts(document, "card-title") == texts(warm, "card-title")
    never_seen = friend_client.get("/library/1/", {"page": 3})
    assert never_seen.status_code == 503
    assert "Try again" in never_seen.content.decode()


@pytest.mark.parametrize(
    ("ages", "expected"),
    [
        ([], None),
        ([59], "less than a minute ago"),
        ([60, 5], "1 minute ago"),
        ([30, 125], "2 minutes ago"),
        ([7199], "119 minutes ago"),
        ([86_400], "24 hours ago"),
    ],
)
def test_the_stale_notice_counts_from_the_oldest_stale_answer(
    ages: list[int], expected: str | None
) -> None:
    results = [Cached("value", "STALE", age) for age in ages] + [Cached("fresh", "HIT", 9999)]

    notice = stale_notice(results)

    if expected is None:
        assert notice is None
    else:
        assert notice == f"Plex is not answering; showing what MediaNest saw {expected}."


@pytest.mark.parametrize(
    ("number", "total", "pages"),
    [
        (1, 0, [1]),
        (1, 48, [1]),
        (1, 49, [1, 2]),
        (1, 480, [1, 2, 3, None, 10]),
        (6, 480, [1, None, 4, 5, 6, 7, 8, None, 10]),
        (10, 480, [1, None, 8, 9, 10]),
        (4, 480, [1, 2, 3, 4, 5, 6, None, 10]),
    ],
)
def test_pagination_windows_the_pages_around_the_current_one(
    number: int, total: int, pages: list[int | None]
) -> None:
    pagination = paginate(number, total, "/library/1/", {"sort": "year:desc"})

    assert [link.number for link in pagination.links] == pages
    assert [link.number for link in pagination.links if link.current] == [number]
    assert pagination.needed == (len(pages) > 1)


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["status", "reset"])
def test_a_page_never_seen_while_plex_is_down_is_the_outage_page(
    friend_client: Client, emulator: Emulator, fault: str
) -> None:
    emulator.set_fault(fault, status=503)

    response = friend_client.get("/library/1/", {"page": 3})

    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    document = response.content.decode()
    assert "Plex is not answering" in document
    assert '<a class="button button-primary" href="/library/1/?page=3">Try again</a>' in document


@pytest.mark.django_db
def test_a_broken_answer_from_plex_is_the_outage_page_with_502(
    friend_client: Client, emulator: Emulator
) -> None:
    emulator.set_fault("malformed")

    document = page(friend_client, "/", status=502)

    assert "Try again" in document


@pytest.mark.django_db
def test_a_revoked_token_sends_the_user_to_sign_in_with_a_message(
    config: ServiceConfig, client: Client
) -> None:
    revoked = User.objects.create(username="revoked", plex_token="revoked-token-1234567890")
    client.force_login(revoked)

    response = client.get("/library/1/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=%2Flibrary%2F1%2F"
    signin = client.get(response["Location"])
    assert signin.status_code == 200  # signed out: the sign-in page, not a redirect loop
    assert SIGN_IN_AGAIN in signin.content.decode()
    revoked.refresh_from_db()
    assert revoked.plex_token_invalid is True


@pytest.mark.django_db
def test_a_user_without_a_plex_token_is_offered_sign_in_with_plex(
    config: ServiceConfig, client: Client
) -> None:
    client.force_login(User.objects.create(username="staff-only", is_staff=True))

    document = page(client, "/library/1/", status=403)

    assert "Your account has no Plex sign-in yet. Sign in with Plex." in document
    assert 'action="/accounts/signin/plex/"' in document
    assert 'name="next" value="/library/1/"' in document


@pytest.mark.django_db
def test_without_a_plex_server_the_page_says_an_administrator_must_set_it_up(
    redis_cache: str, client: Client, emulator: Emulator
) -> None:
    staff = User.objects.create(username="admin", is_staff=True, plex_token=emulator.owner_token)
    friend = User.objects.create(username="friend", plex_token=emulator.friend_token)

    client.force_login(staff)
    for_staff = page(client, "/", status=503)
    client.force_login(friend)
    for_friend = page(client, "/", status=503)

    assert "An administrator must set up the Plex server" in for_staff
    assert 'href="/admin/plex/serviceconfig/setup/"' in for_staff
    assert 'href="/admin/plex/serviceconfig/setup/"' not in for_friend


# -- safe to serve under a strict CSP, never a token ------------------------------------------


@pytest.mark.django_db
def test_no_page_holds_a_token_an_outside_image_inline_script_or_style(
    owner_client: Client, friend_client: Client, emulator: Emulator, keys: dict[str, Any]
) -> None:
    for client, token in [
        (owner_client, emulator.owner_token),
        (friend_client, emulator.friend_token),
    ]:
        for url in every_page(keys):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            document = response.content.decode()
            assert emulator.owner_token not in document, url
            assert emulator.friend_token not in document, url
            assert all(token not in value for _, value in response.items()), url
            for src in image_sources(document):
                assert src.startswith("/"), (url, src)
                assert not src.startswith("//"), (url, src)
            scripts = re.findall(r"<script\b([^>]*)>", document)
            assert scripts, url
            assert all(" src=" in attributes for attributes in scripts), url
            assert not re.search(r"\sstyle\s*=", document), url
            assert not re.search(r"<style\b", document), url
            assert not re.search(r"\son[a-z]+\s*=", document), url
            assert all(" alt=" in tag for tag in re.findall(r"<img\b[^>]*>", document)), url


@pytest.mark.django_db
def test_the_error_pages_are_csp_ready_too(
    friend_client: Client, emulator: Emulator, keys: dict[str, Any]
) -> None:
    not_found = page(friend_client, "/item/99999999/", status=404)
    bad = page(friend_client, "/library/1/?page=x", status=400)
    emulator.set_fault("status", status=503)
    outage = page(friend_client, "/library/1/?page=4", status=503)

    for document in (not_found, bad, outage):
        assert not re.search(r"\sstyle\s*=|<style\b|\son[a-z]+\s*=", document)
        assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", document))


@pytest.mark.django_db
def test_the_stylesheet_and_script_are_served_from_the_site(friend_client: Client) -> None:
    document = page(friend_client, "/")

    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', document)
    script = re.search(r'<script src="([^"]+)" defer></script>', document)
    assert stylesheet is not None
    assert script is not None
    for url in (stylesheet.group(1), script.group(1)):
        assert url.startswith("/static/medianest/")
        response = friend_client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body.strip(), url


def test_the_500_page_renders_without_a_request_a_user_or_the_database() -> None:
    # What Django's server_error handler does: the template, an empty context, no request.
    document = render_to_string("500.html")

    assert "Something went wrong" in document
    assert not re.search(r"\sstyle\s*=|<style\b|<script\b", document)


# -- watch state on cards and item pages ----------------------------------------------------------


def cards(document: str) -> dict[str, str]:
    """Each poster card's HTML by the rating key it links to."""
    found: dict[str, str] = {}
    for card in document.split('<li class="card">')[1:]:
        key = re.search(r'href="/(?:item|collection)/(\d+)/"', card)
        assert key is not None, card[:200]
        found[key.group(1)] = card[: card.index("</li>")]
    return found


def bar_value(card: str) -> int | None:
    value = re.search(r'<progress class="watch-bar" max="100" value="(\d+)"', card)
    return int(value.group(1)) if value else None


@pytest.mark.django_db
@pytest.mark.parametrize("account", ["friend", "owner"])
def test_movie_cards_show_each_users_own_watch_state(
    request: pytest.FixtureRequest, emulator: Emulator, account: str
) -> None:
    client: Client = request.getfixturevalue(f"{account}_client")

    shown = cards(page(client, "/library/1/"))

    kinds = set()
    for key, card in shown.items():
        state = emulator.watch_state(account, key)
        movie = emulator.library.by_key[key]
        if "viewOffset" in state:
            share = state["viewOffset"] / movie["duration"] * 100
            value = bar_value(card)
            assert value is not None, (key, state, card)
            assert abs(value - share) <= 1, (key, state, card)
            assert f'<span class="visually-hidden">{value}% watched</span>' in card
            assert "watched-badge" not in card
            kinds.add("part")
        elif state.get("viewCount"):
            assert '<span class="visually-hidden">Watched</span>' in card, (key, card)
            assert 'aria-hidden="true" focusable="false"' in card  # the check is decoration
            assert bar_value(card) is None
            kinds.add("watched")
        else:
            assert "watched-badge" not in card, (key, card)
            assert bar_value(card) is None, (key, card)
            kinds.add("unwatched")
    assert kinds == {"part", "watched", "unwatched"}  # page 1 shows all three


@pytest.mark.django_db
def test_show_cards_say_how_many_episodes_the_friend_has_watched(
    friend_client: Client, emulator: Emulator
) -> None:
    shown = cards(page(friend_client, "/library/3/"))

    counted = 0
    for key, card in shown.items():
        state = emulator.watch_state("friend", key)
        watched, episodes = state["viewedLeafCount"], state["leafCount"]
        words = texts(card, "card-watch")
        if watched == episodes:
            assert '<span class="visually-hidden">Watched</span>' in card
        elif watched:
            assert words == [f"{watched} of {episodes} watched"], (key, card)
            counted += 1
        else:
            assert words == []
            assert "watched-badge" not in card
    assert counted >= 2


@pytest.mark.django_db
def test_item_pages_say_the_watch_state_in_words(
    friend_client: Client, emulator: Emulator, keys: dict[str, Any]
) -> None:
    movies = emulator.library.sections["1"].items
    state = lambda movie: emulator.watch_state("friend", movie["ratingKey"])  # noqa: E731
    started = next(movie for movie in movies if "viewOffset" in state(movie))
    seen = next(m for m in movies if state(m).get("viewCount") and "viewOffset" not in state(m))
    unseen = next(movie for movie in movies if not state(movie))

    started_page = page(friend_client, f"/item/{started['ratingKey']}/")
    left = -(-(started["duration"] - state(started)["viewOffset"]) // 60_000)
    hours, minutes = divmod(left, 60)
    words = (
        (f"{hours} h {minutes} min left" if minutes else f"{hours} h left")
        if hours
        else (f"{minutes} min left")
    )
    assert f'<p class="watch-words">{words}</p>' in started_page
    assert 'aria-label="Watched so far" aria-valuetext="' in started_page
    assert ">Mark as watched</button>" in started_page
    seen_page = page(friend_client, f"/item/{seen['ratingKey']}/")
    assert '<p class="watch-words is-watched">Watched</p>' in seen_page
    assert ">Mark as unwatched</button>" in seen_page
    assert 'name="watched" value="0"' in seen_page
    unseen_page = page(friend_client, f"/item/{unseen['ratingKey']}/")
    assert '<p class="watch-words">Not watched yet</p>' in unseen_page
    assert 'name="watched" value="1"' in unseen_page

    season = keys["season"]
    season_state = emulator.watch_state("friend", season["ratingKey"])
    season_page = page(friend_client, f"/item/{season['ratingKey']}/")
    watched, episodes = season_state["viewedLeafCount"], season_state["leafCount"]
    expected = (
        f"All {episodes} episodes watched"
        if watched == episodes
        else f"{watched} of {episodes} episodes watched"
    )
    assert expected in season_page


@pytest.mark.django_db
def test_music_has_no_watch_state_and_no_mark_button(
    friend_client: Client, emulator: Emulator
) -> None:
    artist = emulator.library.sections["4"].items[0]

    document = page(friend_client, f"/item/{artist['ratingKey']}/")

    assert "watch-words" not in document
    assert "Mark as" not in document


# -- continue watching ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_starts_with_the_friends_continue_watching_row(
    friend_client: Client, emulator: Emulator
) -> None:
    expected = friend_client.get("/api/v1/plex/continue-watching", {"limit": 12}).json()
    assert expected, "the friend has nothing to continue: the emulator's seed changed"

    document = page(friend_client, "/")

    assert document.index('id="continue-heading"') < document.index('id="recent-heading"')
    row = section(document, "continue-heading")
    assert ">Continue watching</h2>" in row
    assert texts(row, "card-title") == [item["title"] for item in expected]
    shown = cards(row)
    for item in expected:
        card = shown[item["ratingKey"]]
        if item["type"] == "episode":
            words = f"{item['grandparentTitle']} · S{item['parentIndex']} E{item['index']}"
            assert texts(card, "card-meta") == [words]
        if item.get("viewOffset"):
            assert bar_value(card) is not None, card
    assert any(bar_value(card) for card in shown.values())


def test_the_continue_watching_row_is_left_out_when_there_is_nothing_to_continue() -> None:
    document = render_to_string(
        "pages/home.html", {"continue_watching": [], "recent": [], "libraries": []}
    )

    assert "Continue watching" not in document
    assert "continue-heading" not in document


# -- mark as watched ---------------------------------------------------------------------------


def csrf_form(document: str, action: str) -> dict[str, str]:
    """The fields of the form posting to `action`: its CSRF token and hidden inputs."""
    start = document.index(f'action="{action}"')
    form = document[start : document.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


@pytest.fixture
def strict_friend_client(config: ServiceConfig, friend: User) -> Client:
    """The friend in a browser that sends CSRF tokens only as forms do."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(friend)
    return client


def _unwatched_episode(emulator: Emulator, account: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A season with some but not all episodes watched by `account`, and one unwatched."""
    library = emulator.library
    for show in library.sections["3"].items:
        for season in library.children_of[show["ratingKey"]]:
            state = emulator.watch_state(account, season["ratingKey"])
            if 0 < state["viewedLeafCount"] < state["leafCount"]:
                for episode in library.children_of[season["ratingKey"]]:
                    if not emulator.watch_state(account, episode["ratingKey"]):
                        return season, episode
    raise AssertionError(f"no part-watched season for {account}")


@pytest.mark.django_db
def test_marking_an_episode_watched_changes_its_page_and_its_seasons_count_at_once(
    strict_friend_client: Client, owner_client: Client, emulator: Emulator
) -> None:
    client = strict_friend_client
    season, episode = _unwatched_episode(emulator, "friend")
    item_url, mark_url = f"/item/{episode['ratingKey']}/", f"/item/{episode['ratingKey']}/watched"
    state = emulator.watch_state("friend", season["ratingKey"])
    watched, episodes = state["viewedLeafCount"], state["leafCount"]
    before = f"{watched} of {episodes} episodes watched"
    assert before in page(client, f"/item/{season['ratingKey']}/")  # cached now
    owner_before = page(owner_client, item_url)
    owner_state = emulator.watch_state("owner", episode["ratingKey"])
    document = page(client, item_url)
    assert '<p class="watch-words">Not watched yet</p>' in document
    fields = csrf_form(document, mark_url)
    assert fields["watched"] == "1"
    assert fields["next"] == item_url
    try:
        refused = client.post(mark_url, {"watched": "1"})  # no CSRF token
        assert refused.status_code == 403
        assert not emulator.watch_state("friend", episode["ratingKey"])

        response = client.post(mark_url, fields)

        assert (response.status_code, response["Location"]) == (303, item_url)
        assert emulator.watch_state("friend", episode["ratingKey"])["viewCount"] == 1
        marked = page(client, item_url)
        assert "Marked as watched." in marked
        assert '<p class="watch-words is-watched">Watched</p>' in marked
        assert ">Mark as unwatched</button>" in marked
        after = f"{watched + 1} of {episodes} episodes watched"
        assert after in page(client, f"/item/{season['ratingKey']}/")
        # The owner's view of the same episode is the owner's own, and did not change.
        assert without_csrf(page(owner_client, item_url)) == without_csrf(owner_before)
        assert emulator.watch_state("owner", episode["ratingKey"]) == owner_state

        unmark = csrf_form(marked, mark_url)
        assert unmark["watched"] == "0"
        response = client.post(mark_url, unmark)

        assert (response.status_code, response["Location"]) == (303, item_url)
        unmarked = page(client, item_url)
        assert "Marked as unwatched." in unmarked
        assert '<p class="watch-words">Not watched yet</p>' in unmarked
        assert before in page(client, f"/item/{season['ratingKey']}/")
    finally:
        emulator.reset_watch("friend")


def without_csrf(document: str) -> str:
    """The page without its CSRF tokens (masked anew on every page)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", document)


@pytest.mark.django_db
def test_the_mark_address_takes_only_posts(friend_client: Client, keys: dict[str, Any]) -> None:
    response = friend_client.get(f"/item/{keys['movie']['ratingKey']}/watched")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.django_db
def test_a_signed_out_post_to_mark_goes_to_sign_in_and_back_to_the_item(
    client: Client, keys: dict[str, Any]
) -> None:
    key = keys["movie"]["ratingKey"]

    response = client.post(f"/item/{key}/watched", {"watched": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/signin/?next=/item/{key}/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/library/3/?page=1", "/library/3/?page=1"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("", None),
    ],
)
def test_marking_goes_back_to_a_page_of_this_site_only(
    friend_client: Client, emulator: Emulator, next_url: str, expected: str | None
) -> None:
    _, episode = _unwatched_episode(emulator, "friend")
    key = episode["ratingKey"]
    try:
        response = friend_client.post(f"/item/{key}/watched", {"watched": "1", "next": next_url})

        assert response.status_code == 303
        assert response["Location"] == (expected or f"/item/{key}/")
    finally:
        emulator.reset_watch("friend")


@pytest.mark.django_db
def test_a_bad_mark_value_is_a_400_and_an_unknown_item_a_404(
    friend_client: Client, emulator: Emulator, keys: dict[str, Any]
) -> None:
    bad = friend_client.post(f"/item/{keys['movie']['ratingKey']}/watched", {"watched": "yes"})
    assert bad.status_code == 400
    assert "Say watched=1 or watched=0." in bad.content.decode()

    missing = friend_client.post("/item/99999999/watched", {"watched": "1"})
    assert missing.status_code == 404


@pytest.mark.django_db
def test_when_plex_refuses_the_mark_nothing_changes_and_the_page_says_so(
    friend_client: Client, emulator: Emulator
) -> None:
    _, episode = _unwatched_episode(emulator, "friend")
    key = episode["ratingKey"]
    emulator.set_fault("status", status=503, path_prefix="/:/")

    response = friend_client.post(f"/item/{key}/watched", {"watched": "1", "next": f"/item/{key}/"})

    assert response.status_code == 503
    document = response.content.decode()
    assert "Nothing was changed." in document
    assert f'<a class="button button-primary" href="/item/{key}/">Try again</a>' in document
    assert not emulator.watch_state("friend", key)
    emulator.clear_fault()
    assert '<p class="watch-words">Not watched yet</p>' in page(friend_client, f"/item/{key}/")
    assert "Marked as" not in page(friend_client, f"/item/{key}/")


# -- library filters -----------------------------------------------------------------------------


def api_titles(client: Client, key: str, **query: Any) -> tuple[list[str], int]:
    answer = client.get(f"/api/v1/plex/libraries/{key}/items", {"limit": 48, **query})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    return [item["title"] for item in body["items"]], body["totalSize"]


def form_html(document: str, css_class: str) -> str:
    form = document[document.index(f'class="{css_class}"') :]
    return form[: form.index("</form>")]


@pytest.mark.django_db
def test_a_filtered_library_lists_exactly_what_the_api_returns(
    friend_client: Client, emulator: Emulator
) -> None:
    genre = "106"  # Drama, in the emulator's movies
    query = {"genre": genre, "unwatched": "1", "sort": "year:desc"}
    expected, total = api_titles(friend_client, "1", **query)
    assert 0 < total < 240

    document = page(friend_client, "/library/1/", **query)

    assert texts(document, "card-title") == expected
    assert f'<p class="count">{total} movie{"s" if total != 1 else ""}</p>' in document
    filters = form_html(document, "filter-form")
    assert 'method="get"' in filters
    assert f'<option value="{genre}" selected>Drama</option>' in filters
    assert '<input id="filter-unwatched" type="checkbox" name="unwatched" value="1" checked>' in (
        filters
    )
    assert '<input type="hidden" name="sort" value="year:desc">' in filters
    assert '<label for="filter-genre">Genre</label>' in filters
    assert '<label for="filter-decade">Decade</label>' in filters
    assert '<label for="filter-contentRating">Content rating</label>' in filters
    assert '<option value="1990">1990s</option>' in filters
    assert 'href="/library/1/?sort=year%3Adesc">Clear filters</a>' in filters
    sort = form_html(document, "sort-form")
    assert f'<input type="hidden" name="genre" value="{genre}">' in sort
    assert '<input type="hidden" name="unwatched" value="1">' in sort
    for movie_key in cards(document):
        assert "viewCount" not in emulator.watch_state("friend", movie_key)


@pytest.mark.django_db
def test_the_form_without_script_lands_on_the_short_address(friend_client: Client) -> None:
    # A GET form sends its "Any" selects too: genre=106&decade=&year=&contentRating=&...
    response = friend_client.get(
        "/library/1/?genre=106&decade=&year=&contentRating=&unwatched=1&sort=year%3Adesc"
    )

    assert response.status_code == 302
    assert response["Location"] == "/library/1/?genre=106&unwatched=1&sort=year%3Adesc"
    everything = friend_client.get("/library/1/?genre=&decade=")
    assert (everything.status_code, everything["Location"]) == (302, "/library/1/")


@pytest.mark.django_db
def test_pagination_keeps_the_filters_and_the_sort(friend_client: Client) -> None:
    query = {"unwatched": "1", "sort": "year:desc"}
    _, total = api_titles(friend_client, "1", **query)
    assert total > 48
    expected, _ = api_titles(friend_client, "1", offset=48, **query)

    first = page(friend_client, "/library/1/", **query)
    second = page(friend_client, "/library/1/", page=2, **query)

    assert 'href="/library/1/?sort=year%3Adesc&amp;unwatched=1&amp;page=2" rel="next"' in first
    assert 'href="/library/1/?sort=year%3Adesc&amp;unwatched=1" rel="prev"' in second
    assert texts(second, "card-title") == expected


@pytest.mark.django_db
def test_a_filter_combination_without_items_says_so_with_a_way_out(
    friend_client: Client, emulator: Emulator
) -> None:
    movies = emulator.library.sections["1"].items
    years = {movie["year"] for movie in movies}
    genre, year = next(
        (genre, year)
        for genre in ("116", "106", "100")
        for year in sorted(years)
        if not any(
            movie["year"] == year and any(str(g["id"]) == genre for g in movie["Genre"])
            for movie in movies
        )
    )
    assert api_titles(friend_client, "1", genre=genre, year=year) == ([], 0)

    document = page(friend_client, "/library/1/", genre=genre, year=year)

    assert '<p class="count">0 movies</p>' in document
    assert '<p class="empty">No movies match these filters.</p>' in document
    assert '<a class="button" href="/library/1/">Clear filters</a>' in document
    assert "This library is empty." not in document


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("genre=99999", "This library has no genre “99999”."),
        ("decade=1995", "This library has no decade “1995”."),
        ("year=abc", "This library has no year “abc”."),
        ("contentRating=XXX", "This library has no content rating “XXX”."),
        ("unwatched=yes", "Unwatched only is unwatched=1 (or left out)."),
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_it(
    friend_client: Client, query: str, message: str
) -> None:
    document = page(friend_client, f"/library/1/?{query}", status=400)

    assert message in html.unescape(document)


@pytest.mark.django_db
def test_a_tv_library_filters_its_shows_and_music_has_no_unwatched_box(
    friend_client: Client, emulator: Emulator
) -> None:
    expected, total = api_titles(friend_client, "3", contentRating="TV-MA")
    shows = page(friend_client, "/library/3/", contentRating="TV-MA")
    assert texts(shows, "card-title") == expected
    assert f"{total} show" in shows
    assert 'name="unwatched"' in shows

    music = page(friend_client, "/library/4/")
    filters = form_html(music, "filter-form")
    assert 'name="genre"' in filters
    assert 'name="unwatched"' not in filters
    assert 'name="year"' not in filters  # the library lists no years: no empty select


# -- play on Plex --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_item_page_links_to_plex_web_in_a_new_tab(
    friend_client: Client, emulator: Emulator, config: ServiceConfig, keys: dict[str, Any]
) -> None:
    key = keys["episodes"][0]["ratingKey"]

    document = page(friend_client, f"/item/{key}/")

    link = re.search(
        r'<a class="button button-primary" href="([^"]+)"([^>]*)>Play on Plex', document
    )
    assert link is not None
    assert html.unescape(link.group(1)) == (
        f"https://app.plex.tv/desktop/#!/server/{config.machine_identifier}"
        f"/details?key=%2Flibrary%2Fmetadata%2F{key}"
    )
    assert config.machine_identifier
    assert link.group(2) == ' target="_blank" rel="noopener noreferrer"'
    assert "(opens in a new tab)" in document
    assert emulator.friend_token not in document
    assert emulator.owner_token not in document


@pytest.mark.django_db
def test_no_play_link_while_the_servers_identity_is_unknown(
    friend_client: Client, config: ServiceConfig, keys: dict[str, Any]
) -> None:
    ServiceConfig.objects.filter(pk=config.pk).update(machine_identifier="")

    document = page(friend_client, f"/item/{keys['movie']['ratingKey']}/")

    assert "Play on Plex" not in document
    assert "Mark as" in document
