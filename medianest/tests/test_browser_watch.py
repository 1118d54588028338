"""Watch state, continue watching, filters and "Play on Plex" in a real browser (Chromium via
Playwright, fixtures in conftest.py): each scenario saves a screenshot in artifacts/ and every
page is checked for Plex tokens, console errors and its CSP by the `browse` fixture."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Route, expect

from medianest.tests.conftest import Browsing
from medianest.tests.test_browser import open_library, sign_in

if TYPE_CHECKING:
    from plex_emulator import Emulator

Browse = Callable[..., Browsing]


def part_watched_season(emulator: Emulator) -> tuple[dict[str, Any], dict[str, Any]]:
    """A season the friend has watched some but not all of, and its first unwatched episode."""
    library = emulator.library
    for show in library.sections["3"].items:
        for season in library.children_of[show["ratingKey"]]:
            state = emulator.watch_state("friend", season["ratingKey"])
            if 0 < state["viewedLeafCount"] < state["leafCount"]:
                for episode in library.children_of[season["ratingKey"]]:
                    if not emulator.watch_state("friend", episode["ratingKey"]):
                        return season, episode
    raise AssertionError("the friend has no part-watched season: the emulator's seed changed")


def test_home_continues_watching_and_an_item_plays_on_plex(
    browse: Browse, emulator: Emulator
) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)

    row = page.get_by_role("region", name="Continue watching")
    expect(row).to_be_visible()
    headings = page.get_by_role("heading", level=2)
    expect(headings.first).to_have_text("Continue watching")  # before Recently added
    expected = page.request.get("/api/v1/plex/continue-watching?limit=12").json()
    expect(row.locator(".card-title")).to_have_text([item["title"] for item in expected])
    assert row.locator(".card progress.watch-bar").count() >= 1
    episode = next(item for item in expected if item["type"] == "episode")
    card = row.locator(".card", has_text=episode["title"]).first
    expect(card.locator(".card-meta")).to_have_text(
        f"{episode['grandparentTitle']} · S{episode['parentIndex']} E{episode['index']}"
    )
    page.evaluate("window.scrollTo(0, 0)")
    browsing.screenshot("09-home-continue-watching")

    started = next(item for item in expected if item.get("viewOffset"))
    row.locator(".card", has_text=started["title"]).first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1, name=started["title"])).to_be_visible()
    expect(page.locator(".watch-words")).to_have_text(re.compile(r"^(\d+ h )?(\d+ min )?left$"))
    expect(page.get_by_role("progressbar", name="Watched so far")).to_be_visible()
    expect(page.get_by_role("button", name="Mark as watched")).to_be_visible()
    play = page.get_by_role("link", name="Play on Plex")
    expect(play).to_have_attribute("target", "_blank")
    expect(play).to_have_attribute("rel", "noopener noreferrer")
    machine = page.request.get("/api/v1/plex/server").json()["machineIdentifier"]
    href = (
        f"https://app.plex.tv/desktop/#!/server/{machine}"
        f"/details?key=%2Flibrary%2Fmetadata%2F{started['ratingKey']}"
    )
    expect(play).to_have_attribute("href", href)
    browsing.screenshot("10-item-part-watched-play-on-plex")

    # Plex Web itself is not reached from the tests: a stand-in page answers for it.
    def plex_web(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<title>Plex</title>")

    browsing.context.route("https://app.plex.tv/**", plex_web)
    with browsing.context.expect_page() as opened:
        play.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == href
    tab.close()
    expect(page.get_by_role("heading", level=1, name=started["title"])).to_be_visible()
    browsing.check()


def test_filtering_a_library_by_genre_and_unwatched(browse: Browse, emulator: Emulator) -> None:
    browsing = browse()
    page = sign_in(browsing, emulator)
    open_library(page, "Movies")

    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Genre").select_option(label="Drama")
    filters.get_by_label("Unwatched only").check()
    filters.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(r"/library/1/\?genre=\d+&unwatched=1$"))
    genre = filters.get_by_label("Genre").input_value()
    answer = page.request.get(f"/api/v1/plex/libraries/1/items?genre={genre}&unwatched=1&limit=48")
    expected = answer.json()
    titles = [item["title"] for item in expected["items"]]
    assert 0 < len(titles) < 48
    expect(page.locator(".poster-grid .card-title")).to_have_text(titles)
    expect(page.locator(".page-heading .count")).to_have_text(f"{expected['totalSize']} movies")
    expect(page.locator(".poster-grid .watched-badge")).to_have_count(0)
    expect(filters.get_by_label("Unwatched only")).to_be_checked()
    browsing.screenshot("11-library-filtered-by-genre-unwatched")

    page.get_by_label("Sort by").select_option(label="Year")  # the filters stay
    expect(page).to_have_url(re.compile(r"genre=\d+&unwatched=1&sort=year(%3A|:)desc"))
    expect(page.locator(".poster-grid .card")).to_have_count(len(titles))

    filters.get_by_role("link", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/library/1/\?sort=year(%3A|:)desc$"))
    expect(page.locator(".page-heading .count")).to_have_text("240 movies")
    browsing.check()


def test_marking_an_episode_watched_without_script_counts_it_on_its_season(
    browse: Browse, emulator: Emulator
) -> None:
    season, episode = part_watched_season(emulator)
    state = emulator.watch_state("friend", season["ratingKey"])
    watched, episodes = state["viewedLeafCount"], state["leafCount"]
    signed_in = browse()
    sign_in(signed_in, emulator)
    # The form needs no script: the rest happens in a browser that runs none.
    browsing = browse(java_script_enabled=False, storage_state=signed_in.context.storage_state())
    page = browsing.page
    try:
        page.goto(f"/item/{season['ratingKey']}/")
        count = page.locator(".watch-words")
        expect(count).to_have_text(f"{watched} of {episodes} episodes watched")
        page.locator(".episode-list a", has_text=episode["title"]).click()
        expect(page.get_by_role("heading", level=1, name=episode["title"])).to_be_visible()
        expect(page.locator(".watch-words")).to_have_text("Not watched yet")

        page.get_by_role("button", name="Mark as watched").click()

        expect(page).to_have_url(re.compile(rf"/item/{episode['ratingKey']}/$"))
        expect(page.get_by_role("status")).to_contain_text("Marked as watched.")
        expect(page.locator(".watch-words")).to_have_text("Watched")
        expect(page.get_by_role("button", name="Mark as unwatched")).to_be_visible()
        browsing.screenshot("12-episode-marked-watched")
        page.get_by_role("navigation", name="Breadcrumbs").get_by_role(
            "link", name=season["title"]
        ).click()
        expect(count).to_have_text(f"{watched + 1} of {episodes} episodes watched")
        row = page.locator(".episode-list li", has_text=episode["title"])
        expect(row.locator(".watched-badge")).to_have_count(1)
        browsing.screenshot("13-season-episodes-watched-count")
        browsing.check()
    finally:
        emulator.reset_watch("friend")
