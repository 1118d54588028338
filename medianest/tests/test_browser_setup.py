"""Setting MediaNest up by signing in, in Chromium: a fresh install (no server, no user), the
owner signs in with Plex through the emulator's plex.tv, picks the server among those the
account owns, and browses. The emulator's plex.tv publishes a dead address and an impostor
beside the live one: the page says so, and the live one is used."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from playwright.sync_api import expect

from accounts.models import User
from medianest.tests.conftest import Browsing
from plex.models import ServiceConfig

if TYPE_CHECKING:
    from plex_emulator import Emulator

Browse = Callable[..., Browsing]


def test_the_owner_signs_in_picks_the_server_and_browses(
    browse: Browse, emulator: Emulator
) -> None:
    ServiceConfig.objects.all().delete()  # the site fixture's server: a fresh install has none
    assert not User.objects.exists()
    browsing = browse()
    page = browsing.page

    page.goto("/")
    expect(page.get_by_text("MediaNest is not set up yet")).to_be_visible()
    page.get_by_role("button", name="Sign in with Plex").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(emulator.url)}/auth"))
    page.get_by_role("button", name=emulator.accounts["owner"].title).click()

    server = page.get_by_role("region", name=emulator.friendly_name)
    expect(server).to_be_visible(timeout=15_000)  # a dead address costs a timeout to test
    rows = server.get_by_role("row")
    expect(rows.filter(has_text="answers as this server")).to_have_count(1)
    expect(rows.filter(has_text="another server")).to_have_count(1)
    expect(rows.filter(has_text="no answer")).to_have_count(1)
    expect(rows.filter(has_text="answers as this server")).to_contain_text(emulator.live_url)
    browsing.screenshot("14-setup-from-plex-tv")
    server.get_by_role("button", name=f"Use {emulator.friendly_name}").click()

    expect(page.get_by_text(f"MediaNest now browses {emulator.friendly_name}")).to_be_visible()
    config = ServiceConfig.objects.get(enabled=True)
    assert config.url == emulator.live_url
    owner = User.objects.get()
    assert owner.is_superuser
    assert owner.plex_token == emulator.owner_token

    page.goto("/")
    expect(page.get_by_role("heading", name="Recently added")).to_be_visible()
    browsing.check()
