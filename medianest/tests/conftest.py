"""Browser fixtures: Debian's Chromium driven by Playwright against the live server, signed in
through the emulator's plex.tv, with every page visited checked for leaked Plex tokens."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response

    from plex.models import ServiceConfig
    from plex_emulator import Emulator

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 10_000
LAN_NAME = "nas.local"  # resolves to this machine in the tests' Chromium


@pytest.fixture(scope="session")
def _async_unsafe() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread from the browser's start to the
    end of the session; Django would then refuse the tests' own database work (flushing the
    database after each test...) with SynchronousOnlyOperation."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session")
def browser(_async_unsafe: None, django_db_setup: None) -> Iterator[Browser]:
    """One headless Chromium for the session: Debian's, never one Playwright downloads."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}. `make test` installs it "
            "(apt-get install chromium); or set CHROMIUM=/path/to/chromium."
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                # A LAN name for the first-run tests, as a self-hoster opens a NAS.
                f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1",
            ],
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def site(
    browser: Browser,
    transactional_db: None,
    live_server: Any,
    settings: Any,
    redis_cache: str,
    emulator: Emulator,
) -> str:
    """The live server, its plex.tv the emulator's, its Plex server the emulator (machine
    identifier known), its cache the real Redis. Returns the site's URL."""
    from plex.models import ServiceConfig
    from plex.services import check_connection

    settings.PLEX_TV_URL = emulator.url
    settings.PLEX_AUTH_URL = f"{emulator.url}/auth"
    config: ServiceConfig = ServiceConfig.objects.create(url=emulator.url)
    check_connection(config, emulator.owner_token)
    ARTIFACTS.mkdir(exist_ok=True)
    return live_server.url


def plex_tokens(emulator: Emulator) -> dict[str, str]:
    """Every Plex token the emulator knows, by a name safe to print."""
    tokens = {"owner_token": emulator.owner_token, "friend_token": emulator.friend_token}
    for key, account in emulator.accounts.items():
        tokens[f"{key} account auth_token"] = account.auth_token
        if account.server_token:
            tokens[f"{key} server token"] = account.server_token
    return {name: token for name, token in tokens.items() if token}


class Browsing:
    """One browser context and its page, recording what the page asks for and shows: every
    URL requested, each loaded document's HTML, console errors, and site documents without a
    Content Security Policy. `check()` asserts no Plex token is in any of it, nor in cookies."""

    def __init__(self, context: BrowserContext, site_url: str, tokens: dict[str, str]) -> None:
        self.context = context
        self.site_url = site_url
        self.tokens = tokens
        self.requested: list[str] = []
        self.documents: list[tuple[str, str]] = []
        self.site_documents: list[str] = []
        self.errors: list[str] = []
        self.allowed_errors: list[re.Pattern[str]] = [re.compile(r"favicon\.ico")]
        self.missing_csp: list[str] = []
        context.set_default_timeout(TIMEOUT_MS)
        context.on("request", lambda request: self.requested.append(request.url))
        context.on("response", self._response)
        self.page: Page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("load", self._loaded)

    # -- recording ----------------------------------------------------------------------------

    def _response(self, response: Response) -> None:
        if response.request.resource_type != "document" or 300 <= response.status < 400:
            return
        if not response.url.startswith(self.site_url):
            return  # the emulator's plex.tv pages are not MediaNest's
        self.site_documents.append(response.url)
        if not response.headers.get("content-security-policy"):
            self.missing_csp.append(response.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.errors.append(f"console: {message.text} ({where})")

    def _loaded(self, page: Page) -> None:
        from playwright.sync_api import Error

        # Already navigating on (a refresh): that next page's load is recorded instead.
        with contextlib.suppress(Error):
            self.documents.append((page.url, page.content()))

    # -- checking -----------------------------------------------------------------------------

    def allow_errors(self, pattern: str) -> None:
        """Console errors matching `pattern` are expected in this scenario."""
        self.allowed_errors.append(re.compile(pattern))

    def _leaks(self, where: str, text: str) -> list[str]:
        return [f"{name} in {where}" for name, token in self.tokens.items() if token in text]

    def check(self) -> None:
        """No Plex token in the current page, any page loaded so far, any URL requested or
        any cookie; no unexpected console error; every site page had its CSP header."""
        leaks: list[str] = []
        if not self.page.is_closed():
            leaks += self._leaks(f"the HTML of {self.page.url}", self.page.content())
        for url, document in self.documents:
            leaks += self._leaks(f"the HTML of {url}", document)
        for url in self.requested:
            leaks += self._leaks(f"a requested URL ({url[:80]})", url)
        for cookie in self.context.cookies():
            text = f"{cookie['name']}={cookie['value']}"
            leaks += self._leaks(f"cookie {cookie['name']}", text)
        assert not leaks, "Plex tokens reached the browser: " + "; ".join(sorted(set(leaks)))
        unexpected = [
            error
            for error in self.errors
            if not any(pattern.search(error) for pattern in self.allowed_errors)
        ]
        assert not unexpected, f"console errors: {unexpected}"
        assert not self.missing_csp, f"pages without a Content-Security-Policy: {self.missing_csp}"

    def screenshot(self, name: str) -> Path:
        """The whole page, with its lazy posters loaded, as artifacts/<name>.png."""
        from playwright.sync_api import Error

        with contextlib.suppress(Error):  # no script in the page: evaluate may be refused
            self.page.evaluate(
                "document.querySelectorAll('img[loading=lazy]')"
                ".forEach(image => { image.loading = 'eager'; })"
            )
        with contextlib.suppress(Error):
            self.page.wait_for_load_state("networkidle", timeout=5_000)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browse(browser: Browser, site: str, emulator: Emulator) -> Iterator[Callable[..., Browsing]]:
    """Opens a fresh context (`browse()`, or `browse(java_script_enabled=False, ...)`); each one
    is checked for leaks and errors again when the test ends, then closed."""
    opened: list[Browsing] = []
    tokens = plex_tokens(emulator)

    def open_context(**options: Any) -> Browsing:
        context = browser.new_context(base_url=site, **options)
        browsing = Browsing(context, site, tokens)
        opened.append(browsing)
        return browsing

    yield open_context
    try:
        for browsing in opened:
            assert browsing.site_documents, "no MediaNest page was visited"
            assert browsing.documents, "no page's HTML was recorded"
            browsing.check()
    finally:
        for browsing in opened:
            browsing.context.close()
