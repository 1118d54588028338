"""PlexClient: every request MediaNest makes to a Plex Media Server goes through `_get`.

`_get` adds the identifying and auth headers, applies the timeout, runs inside the server's
circuit breaker (with urllib3 retrying GETs underneath), maps the status to the exception
tree, logs the request at DEBUG and parses the JSON. The public methods are one endpoint each.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pybreaker
import requests

from . import redaction
from .breaker import PlexBreaker, make_breaker
from .errors import (
    PlexBadResponse,
    PlexNotFound,
    PlexUnavailable,
)
from .http import send
from .session import make_session
from .types import TYPE_IDS, Image, Library, MediaItem, Page, ServerIdentity, ServerInfo

logger = logging.getLogger("plex.client")

PRODUCT = "MediaNest"
PRODUCT_VERSION = "1.0"


def type_id(kind: str | int | None) -> int | None:
    """ "movie" or 1 -> 1; None -> None. Unknown names are a caller's bug: ValueError."""
    if kind is None or isinstance(kind, int):
        return kind
    if kind.isdigit():
        return int(kind)
    try:
        return TYPE_IDS[kind]
    except KeyError:
        raise ValueError(f"unknown Plex type {kind!r}") from None


class PlexClient:
    """A Plex Media Server, seen with one token.

    Clients are cheap. Give clients of the same server the same `session` (the connection pool)
    and `breaker`, so that keep-alive connections and the circuit are shared; `plex.connections`
    does that for the app.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 3.0,
        verify_tls: bool = True,
        token_in_query: bool = False,
        session: requests.Session | None = None,
        breaker: PlexBreaker | None = None,
        client_identifier: str = "medianest",
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL such as http://192.168.1.10:32400")
        self.base_url = base_url.rstrip("/")
        self.server = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        self.timeout = timeout
        self.token_in_query = token_in_query
        self.session = session or make_session(verify_tls=verify_tls)
        self.breaker = breaker or make_breaker(self.server)
        self._token = token
        redaction.register_secret(token)
        self._headers = {
            "Accept": "application/json",
            "X-Plex-Product": PRODUCT,
            "X-Plex-Version": PRODUCT_VERSION,
            "X-Plex-Client-Identifier": client_identifier,
        }

    def __repr__(self) -> str:  # never the token
        return f"<PlexClient {self.server}>"

    # -- the one path for Plex HTTP ------------------------------------------------------

    def _get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        offset: int | None = None,
        limit: int | None = None,
        auth: bool = True,
        accept: str = "application/json",
    ) -> requests.Response:
        headers = dict(self._headers)
        headers["Accept"] = accept
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if auth:
            if self.token_in_query:
                params["X-Plex-Token"] = self._token
            else:
                headers["X-Plex-Token"] = self._token
        if offset is not None or limit is not None:
            # Always both: since PMS 1.28 an unsized /all is deprecated and may be a 400.
            headers["X-Plex-Container-Start"] = str(offset or 0)
            headers["X-Plex-Container-Size"] = str(limit if limit is not None else 50)
        try:
            return self.breaker.call(self._send, path, params, headers)
        except pybreaker.CircuitBreakerError:
            wait = self.breaker.remaining_open_seconds()
            raise PlexUnavailable(
                f"Plex at {self.server} is not answering; MediaNest will try again in "
                f"{max(1, round(wait))} s.",
                retry_after=wait or 1,
            ) from None

    def _send(
        self, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> requests.Response:
        return send(
            self.session,
            "GET",
            self.base_url + path,
            server=self.server,
            path=path,
            timeout=self.timeout,
            params=params,
            headers=headers,
        )

    def _container(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise PlexBadResponse(
                f"Plex at {self.server} sent something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')})."
            ) from None
        container = data.get("MediaContainer") if isinstance(data, dict) else None
        if not isinstance(container, dict):
            raise PlexBadResponse(f"Plex at {self.server} sent JSON without a MediaContainer.")
        return container

    def _fetch(
        self, path: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return self._container(self._get(path, params, **kwargs))

    def _items(self, container: dict[str, Any]) -> list[MediaItem]:
        entries = container.get("Metadata") or []  # a missing array is an empty list
        if not isinstance(entries, list):
            raise PlexBadResponse(f"Plex at {self.server} sent Metadata that is not a list.")
        return [MediaItem.from_plex(entry) for entry in entries if isinstance(entry, dict)]

    def _page(self, container: dict[str, Any], offset: int) -> Page:
        items = self._items(container)
        total = container.get("totalSize")
        return Page(
            items=items,
            total_size=int(total) if total is not None else offset + len(items),
            offset=int(container.get("offset", offset) or 0),
        )

    # -- endpoints -------------------------------------------------------------------------

    def identity(self) -> ServerIdentity:
        # GET /identity: machineIdentifier, version, claimed; answered without a token.
        return ServerIdentity.from_plex(self._fetch("/identity", auth=False))

    def server_info(self) -> ServerInfo:
        # GET /: the server root, friendlyName, machineIdentifier, version, platform.
        return ServerInfo.from_plex(self._fetch("/"))

    def libraries(self) -> list[Library]:
        # GET /library/sections: Directory[] of the sections this token may see.
        container = self._fetch("/library/sections")
        entries = container.get("Directory") or []
        return [Library.from_plex(entry) for entry in entries if isinstance(entry, dict)]

    def library_items(
        self,
        key: str | int,
        offset: int = 0,
        limit: int = 50,
        sort: str | None = None,
        include_collections: bool = False,
        type: str | int | None = None,
    ) -> Page:
        # GET /library/sections/{key}/all: Metadata[] of a page, with totalSize and offset.
        params: dict[str, Any] = {"sort": sort, "type": type_id(type)}
        if include_collections:
            params["includeCollections"] = 1
        container = self._fetch(
            f"/library/sections/{_segment(key)}/all", params, offset=offset, limit=limit
        )
        return self._page(container, offset)

    def search(self, query: str, type: str | None = None, limit: int = 20) -> list[MediaItem]:
        """Items matching `query` in every library this token can see, best match first."""
        # GET /hubs/search?query=Q&limit=N: Hub[] by type, each with Metadata[] and a score.
        # `limit` is per hub, so ask for `limit` and cut the merged list.
        container = self._fetch("/hubs/search", {"query": query, "limit": limit})
        hubs = container.get("Hub") or []
        found: list[MediaItem] = []
        for hub in hubs:
            if not isinstance(hub, dict):
                continue
            for item in self._items(hub):
                if item.rating_key and (type is None or item.type == type):
                    found.append(item)
        found.sort(key=lambda item: item.score if item.score is not None else 0.0, reverse=True)
        return found[:limit]

    def collections(self, key: str | int) -> list[MediaItem]:
        # GET /library/sections/{key}/collections: Metadata[] of type "collection".
        return self._items(self._fetch(f"/library/sections/{_segment(key)}/collections"))

    def collection_items(self, rating_key: str | int, offset: int = 0, limit: int = 50) -> Page:
        # GET /library/collections/{ratingKey}/children: a page of the collection's items.
        container = self._fetch(
            f"/library/collections/{_segment(rating_key)}/children", offset=offset, limit=limit
        )
        return self._page(container, offset)

    def recently_added(self, type: str | None = None, limit: int = 20) -> list[MediaItem]:
        if type is None:
            # GET /library/recentlyAdded: newest items of every section, newest first.
            container = self._fetch("/library/recentlyAdded", offset=0, limit=limit)
        else:
            # GET /hubs/home/recentlyAdded?type=N: newest items of one kind.
            container = self._fetch(
                "/hubs/home/recentlyAdded", {"type": type_id(type)}, offset=0, limit=limit
            )
        return self._items(container)[:limit]

    def metadata(self, rating_key: str | int) -> MediaItem:
        # GET /library/metadata/{ratingKey}: one item with Genre[], Role[], Media[] details.
        items = self._items(self._fetch(f"/library/metadata/{_segment(rating_key)}"))
        if not items:
            raise PlexNotFound(f"Plex at {self.server} has no item {rating_key}.", status=404)
        return items[0]

    def children(self, rating_key: str | int) -> list[MediaItem]:
        # GET /library/metadata/{ratingKey}/children: a show's seasons, a season's episodes.
        # excludeAllLeaves drops the synthetic "All episodes" season.
        container = self._fetch(
            f"/library/metadata/{_segment(rating_key)}/children", {"excludeAllLeaves": 1}
        )
        return self._items(container)

    def image(self, path: str, width: int, height: int) -> Image:
        # GET /photo/:/transcode?url=PATH&width=W&height=H: image/jpeg or image/png bytes.
        response = self._get(
            "/photo/:/transcode",
            {"url": path, "width": int(width), "height": int(height), "minSize": 1, "upscale": 1},
            accept="image/*",
        )
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not content_type.startswith("image/") or not response.content:
            raise PlexBadResponse(f"Plex at {self.server} sent no image for {path}.")
        return Image(content=response.content, content_type=content_type)


def _segment(value: str | int) -> str:
    """A rating key or section key as a path segment: digits only, so no path can be smuggled."""
    text = str(value)
    if not text.isdigit():
        raise PlexNotFound(f"{text!r} is not a Plex key.", status=404)
    return text
