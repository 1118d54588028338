"""plex.tv: the PIN sign-in and the account's servers (see docs/plex-api.md, "plex.tv sign-in").

Only what "Sign in with Plex" needs: create a PIN, check it, read the account, list the
account's resources. The base URL comes from settings (PLEX_TV_URL), so tests and the demo
point it at the emulator and no code here knows the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from . import redaction
from .errors import PlexBadResponse
from .http import PRODUCT, send
from .session import make_session


@dataclass(frozen=True, slots=True)
class Pin:
    id: int
    code: str
    auth_token: str | None = field(repr=False)  # set once the person approved the sign-in
    expires_in: int  # seconds


@dataclass(frozen=True, slots=True)
class PlexAccount:
    id: int
    uuid: str
    username: str
    title: str  # display name
    email: str
    thumb: str  # avatar URL on plex.tv


MAX_CONNECTIONS = 16  # published connections read per server


def is_plex_direct(url: str) -> bool:
    """A `*.plex.direct` name: Plex's HTTPS names for a server's addresses, whose certificate
    only checks out under that name."""
    return (urlsplit(url).hostname or "").endswith(".plex.direct")


@dataclass(frozen=True, slots=True)
class Connection:
    """One address a server publishes on plex.tv (docs/plex-api.md, "Published connections").

    `local`: on the server's own network; `relay`: through Plex's relay (slow, capped);
    a `plex.direct` uri is HTTPS with a certificate that only checks out under that name."""

    uri: str
    local: bool
    relay: bool
    protocol: str = "http"

    @property
    def plex_direct(self) -> bool:
        return is_plex_direct(self.uri)

    def as_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "local": self.local,
            "relay": self.relay,
            "protocol": self.protocol,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Connection | None:
        """A connection from plex.tv's JSON or from what MediaNest stored; None when it is not
        an http(s) URL (nothing else is ever asked for)."""
        if not isinstance(data, dict):
            return None
        uri = str(data.get("uri") or "").strip()
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises for a port that is not a number
        except ValueError:
            return None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            return None
        # A server's address is scheme, host and port: credentials, a path or a query would
        # be something else speaking for the server (and would reach logs and the admin).
        if parts.username or parts.password or parts.path not in ("", "/"):
            return None
        if parts.query or parts.fragment or len(uri) > 300:
            return None
        return cls(
            uri=uri.rstrip("/"),
            local=_flag(data.get("local")),
            relay=_flag(data.get("relay")),
            protocol=parts.scheme,
        )


@dataclass(frozen=True, slots=True)
class Resource:
    """A device of the account; a server when `provides` contains "server"."""

    name: str
    client_identifier: str  # a server's machineIdentifier
    provides: tuple[str, ...]
    owned: bool
    access_token: str = field(repr=False)  # the account's token for this server
    product_version: str = ""
    presence: bool = False  # plex.tv heard from it lately
    connections: tuple[Connection, ...] = ()

    @property
    def is_server(self) -> bool:
        return "server" in self.provides


class PlexTvClient:
    def __init__(
        self,
        base_url: str,
        *,
        client_identifier: str,
        product: str = PRODUCT,
        timeout: float = 5.0,
        session: requests.Session | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.server = parts.netloc or base_url
        self.client_identifier = client_identifier
        self.product = product
        self.timeout = timeout
        self.session = session or make_session()

    def _request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        headers = {
            "Accept": "application/json",
            "X-Plex-Product": self.product,
            "X-Plex-Client-Identifier": self.client_identifier,
        }
        if token:
            redaction.register_secret(token)
            headers["X-Plex-Token"] = token
        answer = send(
            self.session,
            method,
            self.base_url + path,
            server=self.server,
            path=path,
            timeout=self.timeout,
            headers=headers,
            **kwargs,
        )
        return answer.json(self.server)

    def create_pin(self) -> Pin:
        # POST /api/v2/pins?strong=true: {"id", "code", "expiresIn", "authToken": null, ...}
        return _pin(self._request("POST", "/api/v2/pins", params={"strong": "true"}))

    def check_pin(self, pin_id: int) -> Pin:
        # GET /api/v2/pins/{id}: the same, with authToken once approved; 404 once expired.
        return _pin(self._request("GET", f"/api/v2/pins/{int(pin_id)}"))

    def account(self, token: str) -> PlexAccount:
        # GET /api/v2/user: the account behind the token; 401 when it is not valid.
        data = self._request("GET", "/api/v2/user", token=token)
        if not isinstance(data, dict) or "id" not in data:
            raise PlexBadResponse(f"plex.tv at {self.server} sent a user without an id.")
        return PlexAccount(
            id=int(data["id"]),
            uuid=str(data.get("uuid") or ""),
            username=str(data.get("username") or data.get("title") or ""),
            title=str(data.get("title") or data.get("username") or ""),
            email=str(data.get("email") or ""),
            thumb=str(data.get("thumb") or ""),
        )

    def resources(self, token: str) -> list[Resource]:
        # GET /api/v2/resources: the account's devices, servers with their access tokens.
        data = self._request(
            "GET", "/api/v2/resources", token=token, params={"includeHttps": 1, "includeRelay": 1}
        )
        if not isinstance(data, list):
            raise PlexBadResponse(f"plex.tv at {self.server} sent resources that are not a list.")
        found = []
        for entry in data:
            if not isinstance(entry, dict):
                continue
            access_token = str(entry.get("accessToken") or "")
            if access_token:
                redaction.register_secret(access_token)
            found.append(
                Resource(
                    name=str(entry.get("name") or ""),
                    client_identifier=str(entry.get("clientIdentifier") or ""),
                    provides=tuple(p.strip() for p in str(entry.get("provides") or "").split(",")),
                    owned=_flag(entry.get("owned")),
                    access_token=access_token,
                    product_version=str(entry.get("productVersion") or ""),
                    presence=_flag(entry.get("presence")),
                    connections=_connections(entry.get("connections")),
                )
            )
        return found

    def server_resource(self, token: str, machine_identifier: str) -> Resource | None:
        """The account's resource for the server with this machine identifier (its token, and
        `owned` when the account is the server's owner), or None when the account has no
        access to it (the robust check, see docs/plex-api.md)."""
        for resource in self.resources(token):
            if (
                resource.is_server
                and resource.client_identifier == machine_identifier
                and resource.access_token
            ):
                return resource
        return None

    def server_token(self, token: str, machine_identifier: str) -> str | None:
        """The account's token for the server with this machine identifier, or None."""
        resource = self.server_resource(token, machine_identifier)
        return resource.access_token if resource else None


def auth_url(
    auth_base: str, *, client_identifier: str, code: str, forward_url: str, product: str = PRODUCT
) -> str:
    """Where to send the browser: Plex's sign-in page, told which PIN to approve."""
    query = urlencode(
        {
            "clientID": client_identifier,
            "code": code,
            "forwardUrl": forward_url,
            "context[device][product]": product,
        }
    )
    # Plex's app reads its parameters from the fragment ("#?"), not the query.
    return f"{auth_base}#?{query}"


def _flag(value: Any) -> bool:
    # JSON says true/false; plex.tv's XML (and some proxies) "1"/"0".
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true"}
    return bool(value)


def _connections(data: Any) -> tuple[Connection, ...]:
    if not isinstance(data, list):
        return ()
    # A real server lists a handful; more would only multiply the tests of each.
    found = (Connection.from_dict(entry) for entry in data[:MAX_CONNECTIONS])
    return tuple(connection for connection in found if connection is not None)


def _pin(data: Any) -> Pin:
    if not isinstance(data, dict) or "id" not in data or "code" not in data:
        raise PlexBadResponse("plex.tv sent a PIN without an id or code.")
    token = data.get("authToken") or None
    if token:
        redaction.register_secret(str(token))
    return Pin(
        id=int(data["id"]),
        code=str(data["code"]),
        auth_token=str(token) if token else None,
        expires_in=int(data.get("expiresIn") or 0),
    )
