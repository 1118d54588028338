"""MediaNest in a real browser: Debian's Chromium (Playwright) against the live server, signed
in through the emulator's plex.tv with the whole PIN flow. Each scenario saves a screenshot in
artifacts/; every page visited is checked for Plex tokens (HTML, requested URLs, cookies),
console errors and its Content Security Policy (the `browse` fixture in conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis
from playwright.sync_api import Page, expect

from medianest.tests.conftest import Browsing
from plex.tests.cached import expire_fresh_copies

if TYPE_CHECKING:
    from plex_emulator import Emulator

Browse = Callable[..., Browsing]


# -- helpers ----------------------------------------------------------------------------------


def sign_in(browsing: Browsing, emulator: Emulator, account: str = "friend") -> Page:
    """The whole PIN flow: the site sends us to sign in, "Sign in with Plex" leads to Plex's
    (the emulator's) page, picking the account comes back. Returns the page, signed in for
    anyone with access (the home page is showing)."""
    page = browsing.page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/signin/\?next=(%2F|/)$"))
    page.get_by_role("button", name="Sign in with Plex").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(emulator.url)}/auth"))
    expect(page.get_by_role("heading", name="Sign in to Plex")).to_be_visible()
    page.get_by_role("button", name=emulator.accounts[account].title).click()
    if account == "stranger":
        expect(page).to_have_url(re.compile(r"/accounts/signin/plex/return/"))
        return page
    # Back before Plex had the token, the app shows "Waiting for Plex…" and refreshes in 2 s.
    expect(page.get_by_role("heading", name="Recently added")).to_be_visible()
    expect(page).to_have_url(f"{browsing.site_url}/")
    browsing.check()
    return page


def poster_images_loaded(page: Page, scope: str) -> int:
    """Scrolls each poster image under `scope` into view and waits until it has loaded with a
    real picture; returns how many there are."""
    images = page.locator(f"{scope} img")
    count = images.count()
    for index in range(count):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "image => image.complete && image.naturalWidth > 0", arg=image.element_handle()
        )
    widths = images.evaluate_all("all => all.map(image => image.naturalWidth)")
    assert all(width > 0 for width in widths), widths
    return count


def open_library(page: Page, title: str) -> None:
    page.goto("/")
    page.locator(".library-card", has_text=title).click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()


# After a reload the browser keeps the content in place (scroll anchoring), which could put
# a new banner under the sticky header.
BANNER_IS_ON_TOP = """() => {
  const box = document.querySelector(".banner").getBoundingClientRect();
  const there = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
  return box.top >= 0 && there !== null && there.closest(".banner") !== null;
}"""


# -- scenarios --------------------------------------------------------------------------------


def test_the_friend_signs_in_and_sees_recent_posters_and_their_libraries(
    browse: Browse, emulator: Emulator
) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)

    expect(page.locator(".site-user-name")).to_have_text(emulator.accounts["friend"].username)
    assert poster_images_loaded(page, ".shelf .poster-row") >= 10
    libraries = page.locator(".library-card .library-title")
    expect(libraries).to_have_text(["Movies", "TV Shows", "Music"])
    expect(page.get_by_text("4K Movies")).to_have_count(0)
    page.locator(".poster-row").evaluate_all("rows => rows.forEach(row => row.scrollTo(0, 0))")
    page.evaluate("window.scrollTo(0, 0)")
    browsing.screenshot("01-friend-signs-in")


def test_the_stranger_is_refused(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    browsing.allow_errors(r"status of 403")  # the refusal is a 403 page
    page = sign_in(browsing, emulator, "stranger")

    expect(
        page.get_by_role("heading", name="This Plex account has no access to this server")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text(emulator.accounts["stranger"].username)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    browsing.screenshot("02-stranger-is-refused")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/signin/"))


def test_a_library_pages_and_sorts(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)
    open_library(page, "Movies")
    expect(page.locator(".page-heading .count")).to_contain_text("240")

    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/library/1/\?page=2$"))
    expect(page.locator(".pagination [aria-current=page]")).to_have_text("Page 2")
    browsing.check()

    page.get_by_label("Sort by").select_option(label="Year")  # submitted by search.js
    expect(page).to_have_url(re.compile(r"[?&]sort=year(%3A|:)desc"))
    newest = max(item.get("year", 0) for item in emulator.library.sections["1"].items)
    expect(page.locator(".poster-grid .card-meta").first).to_have_text(str(newest))
    expect(page.get_by_label("Sort by")).to_have_value("year:desc")
    browsing.screenshot("03-library-page-two-sorted-by-year")


def test_a_show_a_season_and_an_episode(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)
    open_library(page, "TV Shows")

    show = page.locator(".poster-grid .card-title").first.inner_text()
    page.locator(".poster-grid .card-link").first.click()
    expect(page.get_by_role("heading", level=1, name=show)).to_be_visible()
    breadcrumbs = page.get_by_role("navigation", name="Breadcrumbs")
    expect(breadcrumbs.get_by_role("link")).to_have_text(["Home", "TV Shows", show])
    browsing.check()

    season = page.locator(".children .card-title").first.inner_text()
    page.locator(".children .card-link").first.click()
    expect(page.get_by_role("heading", level=1, name=season)).to_be_visible()
    expect(breadcrumbs.get_by_role("link")).to_have_text(["Home", "TV Shows", show, season])
    browsing.check()

    episode = page.locator(".episode-list .episode-title").first.inner_text()
    page.locator(".episode-list a").first.click()
    expect(page.get_by_role("heading", level=1, name=episode)).to_be_visible()
    expect(breadcrumbs).to_be_visible()
    expect(breadcrumbs.get_by_role("link")).to_have_text(
        ["Home", "TV Shows", show, season, episode]
    )
    breadcrumbs.get_by_role("link", name=show).click()
    expect(page.get_by_role("heading", level=1, name=show)).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1, name=episode)).to_be_visible()
    browsing.screenshot("04-show-season-episode")


def test_a_collection(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)
    open_library(page, "Movies")

    page.get_by_role("link", name="Collections").click()
    expect(page.get_by_role("heading", level=1, name="Movies: collections")).to_be_visible()
    title = page.locator(".poster-grid .card-title").first.inner_text()
    page.locator(".poster-grid .card-link").first.click()

    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/collection/\d+/$"))
    expect(page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link")).to_have_text(
        ["Home", "Movies", "Collections", title]
    )
    assert page.locator(".poster-grid .card").count() > 0
    poster_images_loaded(page, ".poster-grid")
    browsing.screenshot("05-collection")


def test_search_live_then_without_script(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)

    box = page.get_by_role("combobox", name="Search the Plex server")
    box.press_sequentially("garden", delay=50)
    suggestions = page.get_by_role("listbox", name="Search suggestions")
    expect(suggestions).to_be_visible()
    first = suggestions.get_by_role("link").filter(has_text="Garden").first
    expect(first).to_be_visible()
    expect(first).to_have_attribute("href", re.compile(r"^/(item|collection)/\d+/$"))
    browsing.screenshot("06-search-live-results")
    title = first.locator(".live-title").inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    browsing.check()

    plain = browse(java_script_enabled=False, storage_state=browsing.context.storage_state())
    page = plain.page
    page.goto("/")
    expect(page.get_by_role("heading", name="Recently added")).to_be_visible()
    search_box = page.get_by_role("searchbox", name="Search the Plex server")
    search_box.fill("garden")
    search_box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=garden$"))
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
    results = page.locator(".result-group .card-title")
    expect(results.filter(has_text="Secret Garden")).to_have_count(1)
    expect(page.locator("#live-search-results")).to_have_count(0)  # no script ran
    browsing.check()
    plain.screenshot("06-search-without-script")


def test_when_plex_fails_cached_pages_show_a_banner_and_others_the_outage_page(
    browse: Browse, emulator: Emulator, redis_client: redis.Redis
) -> None:
    browsing = browse()
    browsing.allow_errors(r"status of 503")  # the outage page, and posters Plex cannot send
    page = sign_in(browsing, emulator)
    open_library(page, "Movies")
    expect(page.locator(".banner")).to_have_count(0)
    movie = next(
        item
        for item in emulator.library.sections["1"].items[100:]
        if f"/item/{item['ratingKey']}/" not in " ".join(browsing.requested)
    )
    expire_fresh_copies()
    try:
        emulator.set_fault("status", status=503)

        page.reload()
        banner = page.get_by_role("status").filter(has_text="Plex is not answering")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("showing what MediaNest saw")
        expect(page.get_by_role("heading", level=1, name="Movies")).to_be_visible()
        assert page.evaluate(BANNER_IS_ON_TOP), "the banner is hidden under the sticky header"
        browsing.screenshot("07-plex-down-cached-page-banner")

        response = page.goto(f"/item/{movie['ratingKey']}/")
        assert response is not None
        assert response.status == 503
        expect(page.get_by_role("heading", level=1, name="Plex is not answering")).to_be_visible()
        try_again = page.get_by_role("link", name="Try again")
        expect(try_again).to_have_attribute("href", f"/item/{movie['ratingKey']}/")
        browsing.screenshot("07-plex-down-outage-page")
        browsing.check()
    finally:
        emulator.clear_fault()


def test_sign_out(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)
    page.wait_for_load_state("networkidle")  # posters still loading would meet a 403

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/accounts/signin/$"))
    expect(page.get_by_role("heading", name="Sign in to MediaNest")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    browsing.screenshot("08-signed-out")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/signin/\?next=(%2F|/)$"))
    expect(page.get_by_role("button", name="Sign in with Plex")).to_be_visible()
