"""The emulator's plex.tv: the PIN sign-in, the user, resources and the /auth page, over sockets."""

from __future__ import annotations

import json
import re
import threading
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.clock import ManualClock
from plex_emulator import Emulator, PlexAccount

TIMEOUT = 10
DATA = Path(__file__).resolve().parent / "data"
PRODUCT = "MediaNest"
FORWARD = "http://medianest.test/accounts/plex/callback/?state=abc"
USER_KEYS = ("id", "uuid", "username", "title", "email", "thumb")
RESOURCE_KEYS = ("name", "clientIdentifier", "provides", "owned", "accessToken", "connections")


@pytest.fixture
def plextv_clock(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> ManualClock:
    """The shared emulator's plex.tv on a frozen clock, put back afterwards."""
    clock = ManualClock()
    monkeypatch.setattr(emulator.plex_tv, "clock", clock)
    return clock


def _headers(client: str, token: str | None = None) -> dict[str, str]:
    sent = {
        "Accept": "application/json",
        "X-Plex-Product": PRODUCT,
        "X-Plex-Client-Identifier": client,
    }
    if token is not None:
        sent["X-Plex-Token"] = token
    return sent


def _new_pin(emulator: Emulator, client: str, strong: bool = True) -> dict[str, Any]:
    response = requests.post(
        f"{emulator.url}/api/v2/pins",
        params={"strong": "true"} if strong else {},
        headers=_headers(client),
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _poll(emulator: Emulator, pin_id: int, client: str) -> requests.Response:
    return requests.get(
        f"{emulator.url}/api/v2/pins/{pin_id}", headers=_headers(client), timeout=TIMEOUT
    )


def _link(emulator: Emulator, form: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{emulator.url}/auth/link", data=form, allow_redirects=False, timeout=TIMEOUT
    )


def _api(emulator: Emulator, path: str, token: str | None) -> requests.Response:
    return requests.get(
        f"{emulator.url}{path}",
        params={"includeHttps": "1", "includeRelay": "1"} if "resources" in path else {},
        headers=_headers("medianest-test", token),
        timeout=TIMEOUT,
    )


def _sample(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def _same_types(ours: dict[str, Any], real: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        assert key in ours, key
        if real[key] is not None:
            assert type(ours[key]) is type(real[key]), (key, ours[key], real[key])


# -- the whole sign-in ---------------------------------------------------------------------


def test_pin_flow_signs_the_friend_in_and_finds_the_shared_server(
    emulator: Emulator, plextv_clock: ManualClock
) -> None:
    client = str(uuid.uuid4())
    pin = _new_pin(emulator, client)
    assert len(pin["code"]) == 25
    assert pin["authToken"] is None
    assert pin["clientIdentifier"] == client
    assert pin["product"] == PRODUCT
    assert pin["expiresIn"] == 1800
    assert pin["qr"] == f"https://plex.tv/api/v2/pins/qr/{pin['code']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pin["expiresAt"])

    first = _poll(emulator, pin["id"], client)
    assert first.status_code == 200
    assert first.json()["authToken"] is None

    linked = _link(
        emulator,
        {"code": pin["code"], "clientID": client, "forwardUrl": FORWARD, "account": "friend"},
    )
    assert linked.status_code == 303
    assert linked.headers["Location"] == FORWARD

    plextv_clock.advance(1.05)  # plex.tv's pace: one poll a second
    second = _poll(emulator, pin["id"], client)
    assert second.status_code == 200, second.text
    friend = emulator.accounts["friend"]
    token = second.json()["authToken"]
    assert token == friend.auth_token
    assert token not in {emulator.owner_token, emulator.friend_token}

    user = _api(emulator, "/api/v2/user", token)
    assert user.status_code == 200
    assert user.json()["id"] == 1002
    assert user.json()["username"] == "friend"
    assert user.json()["authToken"] == token

    resources = _api(emulator, "/api/v2/resources", token)
    assert resources.status_code == 200
    servers = [r for r in resources.json() if "server" in r["provides"].split(",")]
    assert len(servers) == 1
    server = servers[0]
    assert server["clientIdentifier"] == emulator.machine_identifier
    assert server["accessToken"] == emulator.friend_token
    assert server["owned"] is False
    assert server["ownerId"] == 1001
    assert server["sourceTitle"] == "owner"
    # Dead, impostor, live: only the live one reaches this server (test_emulator_connections).
    assert server["connections"] == emulator.connections()
    assert server["connections"][2]["uri"] == emulator.live_url
    # The handed-out server token really opens this server's API.
    sections = requests.get(
        f"{emulator.url}/library/sections",
        headers={"Accept": "application/json", "X-Plex-Token": server["accessToken"]},
        timeout=TIMEOUT,
    )
    assert sections.status_code == 200
    # ...and the account token does not: a client must swap it for the resource's token.
    refused = requests.get(
        f"{emulator.url}/library/sections", headers={"X-Plex-Token": token}, timeout=TIMEOUT
    )
    assert refused.status_code == 401


def test_plextv_requests_count_in_stats(emulator: Emulator) -> None:
    _new_pin(emulator, "stats-client")
    assert emulator.stats()["by_path"] == {"/api/v2/pins": 1}


def test_owner_resources_own_this_server_with_the_owner_token(emulator: Emulator) -> None:
    owner = emulator.accounts["owner"]
    found = _api(emulator, "/api/v2/resources", owner.auth_token).json()
    servers = [r for r in found if r["provides"] == "server"]
    players = [r for r in found if "player" in r["provides"]]
    assert [s["clientIdentifier"] for s in servers] == [emulator.machine_identifier]
    assert servers[0]["owned"] is True
    assert servers[0]["accessToken"] == emulator.owner_token
    assert servers[0]["name"] == emulator.friendly_name
    assert servers[0]["productVersion"] == emulator.version
    assert servers[0]["connections"] == emulator.connections()
    assert len(players) == 1
    assert "server" not in players[0]["provides"]


def test_stranger_has_no_resource_for_this_server(emulator: Emulator) -> None:
    stranger = emulator.accounts["stranger"]
    assert stranger.server_token is None
    found = _api(emulator, "/api/v2/resources", stranger.auth_token).json()
    assert all(r["clientIdentifier"] != emulator.machine_identifier for r in found)
    servers = [r for r in found if r["provides"] == "server"]
    assert len(servers) == 1
    assert servers[0]["accessToken"] not in {emulator.owner_token, emulator.friend_token}
    user = _api(emulator, "/api/v2/user", stranger.auth_token).json()
    assert (user["id"], user["username"], user["title"]) == (1003, "stranger", "Sam Stranger")


def test_accounts_are_the_contracted_three(emulator: Emulator) -> None:
    accounts = emulator.accounts
    assert list(accounts) == ["owner", "friend", "stranger"]
    assert all(isinstance(a, PlexAccount) for a in accounts.values())
    assert [a.id for a in accounts.values()] == [1001, 1002, 1003]
    assert accounts["owner"].server_token == emulator.owner_token
    assert accounts["friend"].server_token == emulator.friend_token
    tokens = {a.auth_token for a in accounts.values()}
    assert len(tokens) == 3
    assert not tokens & {emulator.owner_token, emulator.friend_token}
    for account in accounts.values():
        assert account.thumb.startswith(f"https://plex.tv/users/{account.uuid}/avatar?c=")
    # Deterministic identity, fresh tokens: another instance has the same uuids only.
    other = Emulator(movies=0, shows=0)
    assert [a.uuid for a in other.accounts.values()] == [a.uuid for a in accounts.values()]
    assert other.accounts["owner"].auth_token != accounts["owner"].auth_token


# -- PIN rules ---------------------------------------------------------------------------


def test_pin_needs_a_client_identifier(emulator: Emulator) -> None:
    response = requests.post(
        f"{emulator.url}/api/v2/pins?strong=true",
        headers={"Accept": "application/json", "X-Plex-Product": PRODUCT},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"code": 1000, "message": "X-Plex-Client-Identifier is missing", "status": 400}]
    }


def test_pin_takes_client_identifier_and_product_as_query_params(emulator: Emulator) -> None:
    response = requests.post(
        f"{emulator.url}/api/v2/pins",
        params={"X-Plex-Client-Identifier": "query-client", "X-Plex-Product": "Q"},
        headers={"Accept": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201
    pin = response.json()
    assert (pin["clientIdentifier"], pin["product"]) == ("query-client", "Q")
    assert len(pin["code"]) == 4  # not strong


def test_polling_within_a_second_is_rate_limited(
    emulator: Emulator, plextv_clock: ManualClock
) -> None:
    pin = _new_pin(emulator, "hasty-client")
    assert _poll(emulator, pin["id"], "hasty-client").status_code == 200
    again = _poll(emulator, pin["id"], "hasty-client")
    assert again.status_code == 429
    assert again.json() == {
        "errors": [{"code": 1003, "message": "API rate limit exceeded", "status": 429}]
    }
    plextv_clock.advance(0.5)
    assert _poll(emulator, pin["id"], "hasty-client").status_code == 429
    # A second after the last answered poll: the refused ones did not restart the wait.
    plextv_clock.advance(0.55)
    assert _poll(emulator, pin["id"], "hasty-client").status_code == 200


def test_another_clients_pin_is_not_found(emulator: Emulator) -> None:
    pin = _new_pin(emulator, "right-client")
    assert _poll(emulator, pin["id"], "wrong-client").status_code == 404
    assert _poll(emulator, 1, "right-client").status_code == 404


def test_pin_expires_after_its_ttl() -> None:
    clock = ManualClock()
    with Emulator(movies=0, shows=0, pin_ttl=1) as short:
        short.plex_tv.clock = clock  # its own emulator: nothing to put back
        pin = _new_pin(short, "slow-client")
        assert pin["expiresIn"] == 1
        clock.advance(1.2)
        gone = _poll(short, pin["id"], "slow-client")
        assert gone.status_code == 404
        assert gone.json()["errors"][0]["status"] == 404
        late = _link(
            short,
            {
                "code": pin["code"],
                "clientID": "slow-client",
                "forwardUrl": FORWARD,
                "account": "owner",
            },
        )
        assert late.status_code == 400
        assert "This sign-in link has expired" in late.text


def test_pins_are_thread_safe(emulator: Emulator) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        pin = _new_pin(emulator, "busy-client")
        with lock:
            ids.append(pin["id"])

    threads = [threading.Thread(target=create) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 16


# -- the /auth page ------------------------------------------------------------------------


class _Form(HTMLParser):
    """Collects inputs, buttons and scripts, and fails on unbalanced tags."""

    VOID = {"meta", "input", "br", "link", "img"}

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.buttons: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self.forms: list[dict[str, str]] = []
        self._stack: list[str] = []
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag not in self.VOID:
            self._stack.append(tag)
        if tag == "input":
            self.inputs[values["name"]] = values.get("value", "")
        elif tag == "button":
            self._button = values
        elif tag == "form":
            self.forms.append(values)

    def handle_endtag(self, tag: str) -> None:
        assert self._stack, tag
        assert self._stack.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self.buttons.append((self._button["name"], self._button["value"], data))
            self._button = None
        elif self._stack and self._stack[-1] == "script":
            self.scripts.append(data)


def _page(emulator: Emulator, **params: str) -> tuple[str, _Form]:
    response = requests.get(f"{emulator.url}/auth", params=params, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    parsed = _Form()
    parsed.feed(response.text)
    parsed.close()
    assert not parsed._stack  # every element closed
    return response.text, parsed


def test_auth_page_offers_one_button_per_account_and_reads_the_hash(emulator: Emulator) -> None:
    text, page = _page(emulator)
    assert text.startswith("<!DOCTYPE html>")
    assert "Sign in to Plex" in text
    assert page.forms == [{"method": "post", "action": "/auth/link"}]
    assert ("account", "owner", "Olive Owner") in page.buttons
    assert ("account", "friend", "Frankie Friend") in page.buttons
    assert ("account", "stranger", "Sam Stranger") in page.buttons
    assert ("cancel", "1", "Cancel") in page.buttons
    assert set(page.inputs) == {"code", "clientID", "forwardUrl"}
    assert any("location.hash" in script for script in page.scripts)
    # no external assets: the page must work with no network but the emulator's
    assert "src=" not in text
    assert "href=" not in text


def test_auth_page_prefills_the_form_from_the_query_string(emulator: Emulator) -> None:
    pin = _new_pin(emulator, "page-client")
    text, page = _page(
        emulator,
        code=pin["code"],
        clientID="page-client",
        forwardUrl=FORWARD,
        **{"context[device][product]": "Médianest <b>"},
    )
    assert page.inputs == {"code": pin["code"], "clientID": "page-client", "forwardUrl": FORWARD}
    assert "Médianest &lt;b&gt;" in text  # shown, escaped


def test_cancel_goes_back_without_linking(emulator: Emulator) -> None:
    pin = _new_pin(emulator, "cancel-client")
    form = {"code": pin["code"], "clientID": "cancel-client", "forwardUrl": FORWARD}
    cancelled = _link(emulator, {**form, "cancel": "1"})
    assert cancelled.status_code == 303
    assert cancelled.headers["Location"] == FORWARD
    assert _poll(emulator, pin["id"], "cancel-client").json()["authToken"] is None


@pytest.mark.parametrize(
    "forward", ["javascript:alert(1)", "data:text/html,hi", "//evil.test/", "ftp://x.test/"]
)
def test_link_refuses_non_web_forward_urls(emulator: Emulator, forward: str) -> None:
    pin = _new_pin(emulator, "forward-client")
    refused = _link(
        emulator,
        {
            "code": pin["code"],
            "clientID": "forward-client",
            "forwardUrl": forward,
            "account": "owner",
        },
    )
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert _poll(emulator, pin["id"], "forward-client").json()["authToken"] is None


def test_link_with_unknown_code_or_client_has_expired(emulator: Emulator) -> None:
    pin = _new_pin(emulator, "real-client")
    for code, client in (("nope", "real-client"), (pin["code"], "other-client")):
        refused = _link(
            emulator, {"code": code, "clientID": client, "forwardUrl": FORWARD, "account": "owner"}
        )
        assert refused.status_code == 400
        assert "This sign-in link has expired" in refused.text


# -- tokens and shapes -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v2/user", "/api/v2/resources"])
def test_account_endpoints_need_an_account_token(emulator: Emulator, path: str) -> None:
    expected = {
        "errors": [{"code": 1001, "message": "User could not be authenticated", "status": 401}]
    }
    for token in (None, "bogus", emulator.owner_token):  # a server token is no account token
        response = _api(emulator, path, token)
        assert response.status_code == 401
        assert response.json() == expected


def test_account_token_works_as_a_query_param(emulator: Emulator) -> None:
    owner = emulator.accounts["owner"]
    response = requests.get(
        f"{emulator.url}/api/v2/user",
        params={"X-Plex-Token": owner.auth_token},
        headers={"Accept": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.json()["email"] == owner.email


def test_user_matches_the_real_sample(emulator: Emulator) -> None:
    real = _sample("plextv_user.json")
    for account in emulator.accounts.values():
        ours = _api(emulator, "/api/v2/user", account.auth_token).json()
        _same_types(ours, real, USER_KEYS)
        # every key we send is a real key, of the real type where the sample is not null
        for key, value in ours.items():
            assert key in real, key
            if real[key] is not None and value is not None:
                assert type(value) is type(real[key]), key
        assert set(ours["subscription"]) == set(real["subscription"])
        assert (ours["id"], ours["uuid"], ours["title"]) == (
            account.id,
            account.uuid,
            account.title,
        )


def test_resources_match_the_real_sample(emulator: Emulator) -> None:
    real = _sample("plextv_resources.json")
    for account in emulator.accounts.values():
        found = _api(emulator, "/api/v2/resources", account.auth_token).json()
        assert isinstance(found, list)
        for resource in found:
            assert set(resource) == set(real[0]), resource["name"]
            server = resource["provides"] == "server"
            # a player has no server token to give (null, as plex.tv sends for devices)
            keys = (
                RESOURCE_KEYS if server else tuple(k for k in RESOURCE_KEYS if k != "accessToken")
            )
            _same_types(resource, real[1], keys)
            for connection in resource["connections"]:
                assert set(connection) == set(real[0]["connections"][0])
                assert isinstance(connection["uri"], str)
            if server:
                assert isinstance(resource["accessToken"], str)
