"""plex.tv, as far as "Sign in with Plex" needs it, served on the emulator's own port.

    POST /api/v2/pins          create a PIN (strong=true: 25-character code)
    GET  /api/v2/pins/<id>     poll it: authToken once linked; 404 once expired; 429 when hurried
    GET  /api/v2/user          the account behind an account token
    GET  /api/v2/resources     the devices that account may use, with per-server access tokens
    GET  /auth                 the stand-in for https://app.plex.tv/auth: pick an account
    POST /auth/link            link the PIN to that account, 303 back to forwardUrl

Three accounts: the owner (owns this server), the friend (this server is shared with them)
and the stranger (signed in to plex.tv, but only has another server). Account tokens are
plex.tv tokens, never accepted by the Plex Media Server routes: a client must swap them for
the `accessToken` of the right resource, as with the real plex.tv.

Published connections. For the owner and the friend, this server's resource lists the
connections the Emulator publishes (connections.py), shaped as plex.tv sends them
(`protocol`, `address`, `port`, `uri`, `local`, `relay`, `IPv6`), local ones first as plex.tv
orders them, which is not the order a client should prefer:

    1. local, dead: accepts TCP connections and never sends a byte (a read timeout);
    2. local, an impostor: another Plex server (its own machineIdentifier, friendlyName,
       library and statistics) that accepts this server's owner and friend tokens, so only
       `GET /identity` (or `GET /`) tells it apart;
    3. remote, live: another port of this very server (same library, watch state, tokens),
       not the emulator's main port. `Emulator.move_connection()` (or `POST
       /__emulator__/connections/move`) closes it and publishes a new port instead.

plex.tv itself and the control endpoints stay on the main port (`Emulator.url`), which never
moves and is not listed. A PlexTV with nothing published (`published` unset, or the emulator
not started) lists the address the request came to, as before. The stranger's server is
unchanged.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

PLEXTV_PREFIX = "/api/v2/"
Answer = tuple[int, bytes, str, dict[str, str]]

_JSON = "application/json; charset=utf-8"
_HTML = "text/html; charset=utf-8"
_JOINED_AT = 1_552_593_531  # fixed, like the library's dates: answers stay deterministic
_AVATAR_VERSION = 1_724_402_119
_STRONG_ALPHABET = string.ascii_lowercase + string.digits
_SHORT_ALPHABET = string.ascii_uppercase + string.digits
_MAX_FORM_BYTES = 64 * 1024
# Where plex.tv geolocates the caller; real pins carry it, nobody should rely on it.
_LOCATION = {
    "code": "US",
    "european_union_member": False,
    "continent_code": "NA",
    "country": "United States",
    "city": "Emulated",
    "time_zone": "America/New_York",
    "postal_code": "00000",
    "in_privacy_restricted_country": False,
    "in_privacy_restricted_region": False,
    "subdivisions": "New York",
    "coordinates": "40.7128, -74.0060",
}
_PEOPLE = (
    ("owner", 1001, "Olive Owner"),
    ("friend", 1002, "Frankie Friend"),
    ("stranger", 1003, "Sam Stranger"),
)

# What http.server hands over (a Message), or a plain dict in tests.
Headers: TypeAlias = "Mapping[str, str] | Message[str, str]"


@dataclass
class PlexAccount:
    """A plex.tv account. `auth_token` is for plex.tv; `server_token` for this server."""

    key: str
    id: int
    uuid: str
    username: str
    title: str
    email: str
    thumb: str
    auth_token: str
    server_token: str | None


@dataclass
class Pin:
    id: int
    code: str
    product: str
    client_identifier: str
    created_at: float  # wall clock, for createdAt/expiresAt
    expires_at: float  # PlexTV.clock (monotonic): a wall-clock jump must not expire or revive pins
    auth_token: str | None = None
    last_poll: float | None = None  # PlexTV.clock, for the one-poll-a-second rule


def _uuid(key: str) -> str:
    # Real plex.tv user uuids are 16 hex digits; derived from the key so avatars stay stable.
    return hashlib.sha1(f"medianest-emulator-account-{key}".encode()).hexdigest()[:16]


def make_accounts(owner_token: str, friend_token: str) -> dict[str, PlexAccount]:
    """The three accounts, with fresh account tokens unlike any server token."""
    taken = {owner_token, friend_token}
    server_tokens = {"owner": owner_token, "friend": friend_token, "stranger": None}
    accounts = {}
    for key, number, title in _PEOPLE:
        token = secrets.token_urlsafe(20)
        while token in taken:  # astronomically unlikely, but a clash would grant access
            token = secrets.token_urlsafe(20)
        taken.add(token)
        uuid = _uuid(key)
        accounts[key] = PlexAccount(
            key=key,
            id=number,
            uuid=uuid,
            username=key,
            title=title,
            email=f"{key}@example.com",
            thumb=f"https://plex.tv/users/{uuid}/avatar?c={_AVATAR_VERSION}",
            auth_token=token,
            server_token=server_tokens[key],
        )
    return accounts


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _error(status: int, code: int, message: str) -> Answer:
    """plex.tv's JSON error shape."""
    body = {"errors": [{"code": code, "message": message, "status": status}]}
    return status, json.dumps(body).encode(), _JSON, {}


def _json(status: int, payload: Any) -> Answer:
    return status, json.dumps(payload, separators=(",", ":")).encode(), _JSON, {}


def connection(address: str, port: int, *, local: bool) -> dict[str, Any]:
    """One entry of a resource's `connections`, as plex.tv shapes it (plain http: the
    emulator has no plex.direct certificate)."""
    ipv6 = ":" in address
    host = f"[{address}]" if ipv6 else address
    return {
        "protocol": "http",
        "address": address,
        "port": port,
        "uri": f"http://{host}:{port}",
        "local": local,
        "relay": False,
        "IPv6": ipv6,
    }


def handles(path: str) -> bool:
    """True for plex.tv paths; none of them exists on a Plex Media Server."""
    return path.startswith(PLEXTV_PREFIX) or path == "/auth" or path.startswith("/auth/")


class PlexTV:
    """The plex.tv side of the emulator: accounts, PINs and the sign-in page.

    `clock` (monotonic seconds) times PIN expiry and the one-poll-a-second rule. It is read at
    call time, so a test can pass or assign a clock it moves by hand instead of sleeping;
    createdAt, expiresAt and lastSeenAt stay on the wall clock, as dates for people.
    """

    clock: Callable[[], float]

    def __init__(
        self,
        *,
        owner_token: str,
        friend_token: str,
        stranger_token: str | None,
        machine_identifier: str,
        friendly_name: str,
        version: str,
        pin_ttl: int = 1800,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.accounts = make_accounts(owner_token, friend_token)
        self.machine_identifier = machine_identifier
        self.friendly_name = friendly_name
        self.version = version
        self.pin_ttl = int(pin_ttl)
        # The stranger's own server must not look like this one: another identifier, and a
        # token of its own (given on the command line or made up), never a token of this one.
        self.stranger_token = stranger_token or secrets.token_urlsafe(20)
        self.stranger_server_id = hashlib.sha1(
            f"{machine_identifier}-stranger".encode()
        ).hexdigest()
        self._by_token = {account.auth_token: account for account in self.accounts.values()}
        self._pins: dict[int, Pin] = {}
        self._lock = threading.Lock()
        # Real pin ids are large integers; a random base keeps ids of two runs apart.
        self._next_id = 1_000_000_000 + secrets.randbelow(1_000_000_000)
        # What this server's resource lists (the Emulator sets it: connections.py); read at
        # each request, so a moved connection shows at once.
        self.published: Callable[[], list[dict[str, Any]]] | None = None

    # -- entry point --------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Headers,
        body: bytes,
        address: tuple[str, int],
    ) -> Answer:
        if path == "/api/v2/pins":
            if method != "POST":
                return _error(405, 1000, "Method not allowed")
            return self._create_pin(query, headers)
        if path.startswith("/api/v2/pins/"):
            if method != "GET":
                return _error(405, 1000, "Method not allowed")
            return self._poll_pin(path.removeprefix("/api/v2/pins/"), query, headers)
        if path in {"/api/v2/user", "/api/v2/resources"}:
            if method != "GET":
                return _error(405, 1000, "Method not allowed")
            account = self._account(query, headers)
            if account is None:
                return _error(401, 1001, "User could not be authenticated")
            if path == "/api/v2/user":
                return _json(200, self.user(account))
            return _json(200, self.resources(account, address))
        if path in {"/auth", "/auth/"}:
            if method != "GET":
                return self._page(405, "Method not allowed", "Use GET.")
            return self._auth_page(query)
        if path == "/auth/link":
            if method != "POST":
                return self._page(405, "Method not allowed", "Use POST.")
            return self._link(body)
        if path.startswith(PLEXTV_PREFIX):
            return _error(404, 1002, "Not found")
        return self._page(404, "Not found", "No such page.")

    # -- PINs ---------------------------------------------------------------------------------

    @staticmethod
    def _param(name: str, query: dict[str, str], headers: Headers) -> str:
        # plex.tv takes every X-Plex-* value either as a header or as a query parameter.
        return headers.get(name) or query.get(name) or ""

    def _pin_json(self, pin: Pin, now: float) -> dict[str, Any]:
        return {
            "id": pin.id,
            "code": pin.code,
            "product": pin.product,
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "location": dict(_LOCATION),
            "expiresIn": max(0, round(pin.expires_at - now)),
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(pin.created_at + self.pin_ttl),
            "authToken": pin.auth_token,
            "newRegistration": None,
        }

    def _create_pin(self, query: dict[str, str], headers: Headers) -> Answer:
        client = self._param("X-Plex-Client-Identifier", query, headers)
        if not client:
            return _error(400, 1000, "X-Plex-Client-Identifier is missing")
        product = self._param("X-Plex-Product", query, headers)
        strong = query.get("strong", "").lower() in {"true", "1"}
        alphabet, length = (_STRONG_ALPHABET, 25) if strong else (_SHORT_ALPHABET, 4)
        now = self.clock()
        with self._lock:
            # Dropped here rather than by a timer: no thread to stop, memory stays bounded.
            for pin_id in [i for i, p in self._pins.items() if p.expires_at <= now]:
                del self._pins[pin_id]
            live_codes = {p.code for p in self._pins.values()}
            code = "".join(secrets.choice(alphabet) for _ in range(length))
            while code in live_codes:  # 4-character codes can clash; a code names one pin
                code = "".join(secrets.choice(alphabet) for _ in range(length))
            pin = Pin(
                id=self._next_id,
                code=code,
                product=product,
                client_identifier=client,
                created_at=time.time(),
                expires_at=now + self.pin_ttl,
            )
            self._next_id += 1
            self._pins[pin.id] = pin
            payload = self._pin_json(pin, now)
        return _json(201, payload)

    def _poll_pin(self, pin_id: str, query: dict[str, str], headers: Headers) -> Answer:
        client = self._param("X-Plex-Client-Identifier", query, headers)
        if not client:
            return _error(400, 1000, "X-Plex-Client-Identifier is missing")
        now = self.clock()
        with self._lock:
            pin = self._pins.get(int(pin_id)) if pin_id.isdigit() else None
            # Another client's pin is as good as absent: its token is not theirs to collect.
            if pin is None or pin.expires_at <= now or pin.client_identifier != client:
                return _error(404, 1020, "Code not found or expired")
            if pin.last_poll is not None and now - pin.last_poll < 1.0:
                # The refused poll does not restart the clock, so a client that waits a full
                # second after its last answered poll is never refused.
                return _error(429, 1003, "API rate limit exceeded")
            pin.last_poll = now
            payload = self._pin_json(pin, now)
        return _json(200, payload)

    def link(self, code: str, client_identifier: str, account_key: str) -> bool:
        """Give the live pin with that code and client the account's token (what the page does)."""
        account = self.accounts[account_key]
        now = self.clock()
        with self._lock:
            for pin in self._pins.values():
                if (
                    pin.code == code
                    and pin.client_identifier == client_identifier
                    and pin.expires_at > now
                ):
                    pin.auth_token = account.auth_token
                    return True
        return False

    # -- accounts -----------------------------------------------------------------------------

    def _account(self, query: dict[str, str], headers: Headers) -> PlexAccount | None:
        token = self._param("X-Plex-Token", query, headers)
        return self._by_token.get(token) if token else None

    def user(self, account: PlexAccount) -> dict[str, Any]:
        """Shaped like plex.tv's user object (same keys and types; fewer array entries)."""
        paid = account.key == "owner"  # an owner with Plex Pass, as most server owners have
        return {
            "id": account.id,
            "uuid": account.uuid,
            "username": account.username,
            "title": account.title,
            "email": account.email,
            "friendlyName": account.title,
            "locale": None,
            "confirmed": True,
            "joinedAt": _JOINED_AT + account.id,
            "emailOnlyAuth": False,
            "hasPassword": True,
            "protected": False,
            "thumb": account.thumb,
            "authToken": account.auth_token,
            "mailingListStatus": "unsubscribed",
            "mailingListActive": False,
            "scrobbleTypes": "",
            "country": "US",
            "subscription": {
                "active": paid,
                "subscribedAt": "2019-03-16T15:20:12Z" if paid else None,
                "status": "Active" if paid else "Inactive",
                "paymentService": None,
                "plan": "lifetime" if paid else None,
                "features": ["federated-auth", "home", "lets_encrypt"],
            },
            "subscriptionDescription": None,
            "restricted": False,
            "anonymous": False,
            "home": False,
            "guest": False,
            "homeSize": 1,
            "homeAdmin": False,
            "maxHomeSize": 15,
            "rememberExpiresAt": _JOINED_AT + 10 * 365 * 86400,
            "profile": {
                "autoSelectAudio": True,
                "defaultAudioLanguage": "en",
                "defaultSubtitleLanguage": "en",
                "autoSelectSubtitle": 0,
                "defaultSubtitleAccessibility": 0,
                "defaultSubtitleForced": 0,
                "watchedIndicator": 1,
                "mediaReviewsVisibility": 0,
            },
            "entitlements": [],
            "subscriptions": [],
            "pastSubscriptions": [],
            "trials": [],
            "services": [],
            "adsConsent": None,
            "adsConsentSetAt": None,
            "adsConsentReminderAt": None,
            "experimentalFeatures": False,
            "twoFactorEnabled": False,
            "backupCodesCreated": False,
            "attributionPartner": None,
        }

    def _server(
        self,
        *,
        name: str,
        client_identifier: str,
        token: str,
        owner: PlexAccount | None,
        connections: list[dict[str, Any]],
    ) -> dict[str, Any]:
        # plex.tv's publicAddress is the server's WAN address: that of a remote connection.
        public = next((c for c in connections if not c["local"]), connections[0])
        return {
            "name": name,
            "product": "Plex Media Server",
            "productVersion": self.version,
            "platform": "Linux",
            "platformVersion": "6.1.0",
            "device": "PC",
            "clientIdentifier": client_identifier,
            "createdAt": "2023-11-14T22:13:20Z",
            "lastSeenAt": _iso(time.time()),
            "provides": "server",
            "ownerId": owner.id if owner else None,
            "sourceTitle": owner.username if owner else None,
            "publicAddress": public["address"],
            "accessToken": token,
            "owned": owner is None,
            "home": False,
            "synced": False,
            "relay": False,
            "presence": True,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": False,
            "connections": [dict(c) for c in connections],
        }

    def _player(self, account: PlexAccount) -> dict[str, Any]:
        # A device that is not a server: clients must filter on `provides`, not take the first.
        address = f"192.0.2.{account.id - 1000}"  # TEST-NET-1: never routable
        return {
            "name": f"{account.title}'s iPhone",
            "product": "Plex for iOS",
            "productVersion": "8.24",
            "platform": "iOS",
            "platformVersion": "16.6.1",
            "device": "iPhone",
            "clientIdentifier": hashlib.sha1(f"{account.uuid}-iphone".encode()).hexdigest(),
            "createdAt": "2022-12-31T01:23:45Z",
            "lastSeenAt": "2023-09-19T00:00:00Z",
            "provides": "client,controller,sync-target,player,pubsub-player",
            "ownerId": None,
            "sourceTitle": None,
            "publicAddress": address,
            "accessToken": None,
            "owned": True,
            "home": False,
            "synced": False,
            "relay": False,
            "presence": False,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": False,
            "connections": [
                {
                    "protocol": "http",
                    "address": address,
                    "port": 32500,
                    "uri": f"http://{address}:32500",
                    "local": True,
                    "relay": False,
                    "IPv6": False,
                }
            ],
        }

    def resources(self, account: PlexAccount, address: tuple[str, int]) -> list[dict[str, Any]]:
        """The account's devices: this server for the owner and the friend, not the stranger."""
        host, port = address
        found = []
        if account.server_token is not None:
            owner = None if account.key == "owner" else self.accounts["owner"]
            published = self.published() if self.published is not None else []
            found.append(
                self._server(
                    name=self.friendly_name,
                    client_identifier=self.machine_identifier,
                    token=account.server_token,
                    owner=owner,
                    connections=published or [connection(host, port, local=True)],
                )
            )
        else:
            found.append(
                self._server(
                    name="Sam's Server",
                    client_identifier=self.stranger_server_id,
                    token=self.stranger_token,
                    owner=None,
                    connections=[connection("192.0.2.99", 32400, local=False)],
                )
            )
        found.append(self._player(account))
        return found

    # -- the sign-in page ---------------------------------------------------------------------

    def _page(self, status: int, title: str, message: str) -> Answer:
        body = _PAGE.format(
            title=html.escape(title),
            main=f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(message)}</p>",
            script="",
        )
        return status, body.encode(), _HTML, {}

    def _auth_page(self, query: dict[str, str]) -> Answer:
        """Filled from the query string here, and from `location.hash` by the inline script:
        real clients put the parameters after `#`, which never reaches a server."""
        code = query.get("code", "")
        client = query.get("clientID", "")
        forward = query.get("forwardUrl", "")
        product = query.get("context[device][product]", "")
        if not product and code:
            with self._lock:
                product = next((p.product for p in self._pins.values() if p.code == code), "")
        buttons = "\n".join(
            f'<button type="submit" name="account" value="{html.escape(a.key)}">'
            f"{html.escape(a.title)}</button>"
            for a in self.accounts.values()
        )
        main = _AUTH_FORM.format(
            product=html.escape(product or "your app"),
            code=html.escape(code),
            client=html.escape(client),
            forward=html.escape(forward),
            buttons=buttons,
        )
        body = _PAGE.format(title="Sign in to Plex", main=main, script=_AUTH_SCRIPT)
        return 200, body.encode(), _HTML, {}

    def _link(self, body: bytes) -> Answer:
        if len(body) > _MAX_FORM_BYTES:
            return self._page(400, "Bad request", "The form is too large.")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        forward = form.get("forwardUrl", "")
        if forward:
            target = urlsplit(forward)
            # Anything but a web page (javascript:, data:) would run in the user's browser.
            if target.scheme not in {"http", "https"} or not target.netloc:
                return self._page(400, "Bad request", "The forward URL must be http or https.")
        if "cancel" in form:
            if forward:
                return 303, b"", _HTML, {"Location": forward}
            return self._page(200, "Sign-in cancelled", "You can close this window.")
        account = form.get("account", "")
        if account not in self.accounts:
            return self._page(400, "Bad request", "Choose an account.")
        if not self.link(form.get("code", ""), form.get("clientID", ""), account):
            return self._page(
                400, "This sign-in link has expired", "Go back to the app and sign in again."
            )
        if forward:
            return 303, b"", _HTML, {"Location": forward}
        # No forwardUrl: the app opened a popup and polls; there is nowhere to go back to.
        return self._page(200, "Signed in", "You can close this window.")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #1f2326; color: #eee; margin: 0; }}
main {{ max-width: 24rem; margin: 4rem auto; padding: 2rem; background: #2b3035;
  border-radius: 8px; }}
h1 {{ font-size: 1.4rem; margin-top: 0; }}
button {{ display: block; width: 100%; margin: .5rem 0; padding: .7rem; font-size: 1rem;
  border: 0; border-radius: 4px; background: #e5a00d; color: #1f2326; cursor: pointer; }}
button.cancel {{ background: transparent; color: #aaa; border: 1px solid #555; }}
.note {{ color: #aaa; font-size: .85rem; }}
</style>
</head>
<body>
<main>
{main}
</main>
{script}
</body>
</html>
"""

_AUTH_FORM = """<h1>Sign in to Plex</h1>
<p>to continue to <strong id="product">{product}</strong></p>
<p class="note">Plex emulator: choose an account, no password needed.</p>
<form method="post" action="/auth/link">
<input type="hidden" name="code" id="code" value="{code}">
<input type="hidden" name="clientID" id="clientID" value="{client}">
<input type="hidden" name="forwardUrl" id="forwardUrl" value="{forward}">
{buttons}
<button type="submit" name="cancel" value="1" class="cancel">Cancel</button>
</form>"""

# Reads `#?clientID=...&code=...` (and python-plexapi's `#!?...`) into the hidden inputs.
_AUTH_SCRIPT = """<script>
(function () {
  var hash = window.location.hash.replace(/^#!?\\??/, "");
  if (!hash) { return; }
  var params = new URLSearchParams(hash);
  ["code", "clientID", "forwardUrl"].forEach(function (name) {
    var value = params.get(name);
    if (value !== null) { document.getElementById(name).value = value; }
  });
  var product = params.get("context[device][product]");
  if (product) { document.getElementById("product").textContent = product; }
})();
</script>"""
