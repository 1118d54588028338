"""A self-hoster's first five minutes, in Chromium: MediaNest started with the environment
compose.yaml gives (DEBUG off, gunicorn, a real database file and Redis) and opened by a LAN
name over plain http (`http://nas.local:PORT`, mapped to this machine). Each walk follows what
the pages say to set, restarts the app with it as `docker compose up -d` would, and signs in
with Plex through the emulator's plex.tv."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from playwright.sync_api import Page, expect

from harness.stack import free_port, manage, start_gunicorn, stop
from medianest.tests.conftest import ARTIFACTS, LAN_NAME, Browsing, plex_tokens

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from plex_emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "first-run-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose_environment(given: dict[str, str]) -> dict[str, str]:
    """The app service's environment in compose.yaml, with `given` as the `.env` file and
    compose's `${NAME:-default}` / `${NAME:?message}` filled in as compose fills them."""
    service = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["app"]

    def fill(match: re.Match[str]) -> str:
        name, kind, default = match.group(1), match.group(2), match.group(3) or ""
        value = given.get(name, "")
        if kind == "?" and not value:
            raise AssertionError(f"compose.yaml requires {name}: {default}")
        return value or (default if kind == "-" else "")

    return {name: _VARIABLE.sub(fill, str(value)) for name, value in service["environment"].items()}


class App:
    """MediaNest as compose runs it, on one port that stays the same across restarts."""

    def __init__(self, tmp: Path, emulator: Emulator, redis_url: str) -> None:
        self.port = free_port()
        self.tmp = tmp
        # What compose's other services and build would provide, here on this machine.
        self.local = {
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "REDIS_URL": redis_url,
            "STATIC_ROOT": str(tmp / "static"),
            "PLEX_TV_URL": emulator.url,
            "PLEX_AUTH_URL": f"{emulator.url}/auth",
            "PYTHONUNBUFFERED": "1",
        }
        self.process = None
        self.log = tmp / "app.log"
        env = self.env({})
        manage(env, "collectstatic", "--noinput")  # the image's build step
        manage(env, "migrate", "--noinput")  # the container's entrypoint
        manage(env, "plex_configure", "--url", emulator.url)

    @property
    def url(self) -> str:
        return f"http://{LAN_NAME}:{self.port}"

    def env(self, dotenv: dict[str, str]) -> dict[str, str]:
        # The test runner's own settings must not leak in: only compose's say what is set.
        base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
        return {**base, **compose_environment({"SECRET_KEY": SECRET_KEY, **dotenv}), **self.local}

    def start(self, dotenv: dict[str, str]) -> None:
        """`docker compose up -d` with this `.env`: the app (re)started with it."""
        self.stop()
        self.process, _ = start_gunicorn(
            self.env(dotenv), workers=1, log=self.log, port=self.port, timeout=30
        )

    def stop(self) -> None:
        if self.process is not None:
            stop([self.process])
            self.process = None


@pytest.fixture
def app(tmp_path: Path, emulator: Emulator, redis_client, redis_url: str) -> Iterator[App]:
    running = App(tmp_path, emulator, redis_url)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browsing(browser: Browser, app: App, emulator: Emulator) -> Iterator[Browsing]:
    context = browser.new_context()
    browsing = Browsing(context, app.url, plex_tokens(emulator))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield browsing
        browsing.check()
    finally:
        context.close()


def the_setting(page: Page, name: str) -> str:
    """The value a setup page tells the operator to give `name`."""
    for line in page.locator("code.setting").all_inner_texts():
        if line.startswith(f"{name}="):
            return line.removeprefix(f"{name}=")
    raise AssertionError(f"the page names no {name}: {page.locator('main').inner_text()}")


def sign_in_with_plex(page: Page, emulator: Emulator, app: App) -> None:
    page.goto(f"{app.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/signin/"))
    page.get_by_role("button", name="Sign in with Plex").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(emulator.url)}/auth"))
    page.get_by_role("button", name=emulator.accounts["friend"].title).click()
    expect(page.get_by_role("heading", name="Recently added")).to_be_visible()
    expect(page).to_have_url(f"{app.url}/")


def test_a_lan_name_leads_to_the_one_setting_then_sign_in_works(
    app: App, browsing: Browsing, emulator: Emulator
) -> None:
    app.start({})  # compose's defaults: nothing in .env but the secret key
    page = browsing.page
    browsing.allow_errors(r"status of 400 \(Bad Request\)")  # the page is a 400

    page.goto(f"{app.url}/")
    expect(
        page.get_by_role("heading", name="MediaNest is not set up for this address")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"{LAN_NAME}:{app.port}")
    browsing.screenshot("first-run-01-unknown-host")
    site_url = the_setting(page, "MEDIANEST_URL")
    assert site_url == app.url
    # The log says it too, one line a request (the page, the browser's favicon), no traceback.
    log = app.log.read_text()
    refused = [line for line in log.splitlines() if LAN_NAME in line]
    assert refused, log
    assert all(f"set MEDIANEST_URL={app.url}" in line for line in refused), log
    assert "Traceback" not in log

    app.start({"MEDIANEST_URL": site_url})
    sign_in_with_plex(page, emulator, app)
    browsing.screenshot("first-run-02-signed-in-over-http")


def test_secure_cookies_over_http_lead_to_a_way_out_then_sign_in_works(
    app: App, browsing: Browsing, emulator: Emulator
) -> None:
    # An .env written for the old compose file: the host allowed, cookies Secure.
    old_env = {"ALLOWED_HOSTS": LAN_NAME, "SECURE_COOKIES": "1"}
    app.start(old_env)
    page = browsing.page
    browsing.allow_errors(r"status of 403 \(Forbidden\)")  # the refused form

    page.goto(f"{app.url}/")
    page.get_by_role("button", name="Sign in with Plex").click()
    heading = page.get_by_role(
        "heading", name="Signing in needs HTTPS, or one setting for plain http"
    )
    expect(heading).to_be_visible()
    browsing.screenshot("first-run-03-secure-cookies-over-http")
    assert the_setting(page, "MEDIANEST_URL").startswith("https://")  # the recommended way
    secure_cookies = the_setting(page, "SECURE_COOKIES")

    app.start({**old_env, "SECURE_COOKIES": secure_cookies})
    sign_in_with_plex(page, emulator, app)
