"""PlexClient: every request MediaNest makes to a Plex Media Server goes through `_fetch`.

`_fetch` adds the identifying and auth headers and the paging headers, and runs inside the
server's circuit breaker (with urllib3 retrying GETs underneath): the one HTTP path in http.py
sends the request, maps the status and reads the body within a size cap and a deadline, and
the answer is parsed into typed results inside the breaker too, so an answer MediaNest cannot
read counts against the circuit as a timeout does. The public methods are one endpoint each.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pybreaker
import requests

from . import notifications as notifications_module
from . import plexxml, redaction
from .breaker import PlexBreaker, make_breaker
from .errors import (
    PlexBadResponse,
    PlexNotFound,
    PlexUnavailable,
)
from .http import DEFAULT_DEADLINE, MAX_JSON_BYTES, PRODUCT, Answer, send
from .images import NotAnImage, checked_type
from .limiter import FleetLimiter
from .session import RETRY_BACKOFF_MAX, RETRY_TOTAL, make_adapter, make_session
from .types import (
    MEDIA_TYPES,
    TYPE_IDS,
    FilterChoice,
    Image,
    Library,
    MediaItem,
    Page,
    ServerIdentity,
    ServerInfo,
)

logger = logging.getLogger("plex.client")

PRODUCT_VERSION = "1.0"
DEFAULT_IMAGE_MAX_BYTES = 10 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]{1,20}")  # ASCII only, not "²" or "①" (which int() refuses)

T = TypeVar("T")
Container = dict[str, Any]


def type_id(kind: str | int | None) -> int | None:
    """ "movie" or 1 -> 1; None -> None. Unknown names are a caller's bug: ValueError."""
    if kind is None or isinstance(kind, int):
        return kind
    if _DIGITS.fullmatch(kind):
        return int(kind)
    try:
        return TYPE_IDS[kind]
    except KeyError:
        raise ValueError(f"unknown Plex type {kind!r}") from None


class PlexClient:
    """A Plex Media Server, seen with one token.

    Clients are cheap. Give clients of the same server the same `adapter` (the connection pool)
    and `breaker`, so that keep-alive connections and the circuit are shared; each client keeps
    a session of its own over that pool, so nothing else (a cookie) passes between tokens.
    `plex.connections` does that for the app.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 3.0,
        verify_tls: bool = True,
        token_in_query: bool = False,
        adapter: requests.adapters.HTTPAdapter | None = None,
        trial_adapter: requests.adapters.HTTPAdapter | None = None,
        breaker: PlexBreaker | None = None,
        client_identifier: str = "medianest",
        deadline: float = DEFAULT_DEADLINE,
        image_max_bytes: int = DEFAULT_IMAGE_MAX_BYTES,
        limiter: FleetLimiter | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL such as http://192.168.1.10:32400")
        self.base_url = base_url.rstrip("/")
        self.server = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        self.timeout = timeout
        self.deadline = deadline
        self.image_max_bytes = image_max_bytes
        self.token_in_query = token_in_query
        self.session = make_session(verify_tls=verify_tls, adapter=adapter)
        # The breaker's trial call is one attempt: a server that is still down costs one
        # request per trial, not a round of retries.
        self.trial_session = make_session(
            verify_tls=verify_tls, adapter=trial_adapter or make_adapter(retries=False)
        )
        self.breaker = breaker or make_breaker(self.server)
        # The server's slots for the whole deployment (plex.connections gives every client of
        # a server the same one); None: no limit beyond the pool's.
        self.limiter = limiter
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

    @property
    def worst_case_seconds(self) -> float:
        """The longest one call can take: every attempt's connect and read timeouts, the
        pauses between attempts, and the body's deadline."""
        attempts = RETRY_TOTAL + 1
        return attempts * 2 * self.timeout + RETRY_TOTAL * RETRY_BACKOFF_MAX + self.deadline

    # -- the one path for Plex HTTP ------------------------------------------------------

    def _fetch(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        parse: Callable[[Container], T],
        offset: int | None = None,
        limit: int | None = None,
        auth: bool = True,
    ) -> T:
        """GET `path` as JSON and return `parse(MediaContainer)`."""
        return self._call(
            path,
            params,
            lambda answer: parse(self._container(answer)),
            offset=offset,
            limit=limit,
            auth=auth,
        )

    def _call(
        self,
        path: str,
        params: dict[str, Any] | None,
        read: Callable[[Answer], T],
        *,
        offset: int | None = None,
        limit: int | None = None,
        auth: bool = True,
        accept: str = "application/json",
        max_bytes: int = MAX_JSON_BYTES,
        once: bool = False,
    ) -> T:
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

        def guarded() -> T:
            # Inside the breaker: sending, reading and parsing all count for the circuit.
            # One attempt for the breaker's trial, and for a change (a scrobble retried after
            # a lost answer would count a play twice).
            once_only = once or self.breaker.in_trial()
            session = self.trial_session if once_only else self.session
            with self._slot():
                answer = send(
                    session,
                    "GET",
                    self.base_url + path,
                    server=self.server,
                    path=path,
                    timeout=self.timeout,
                    max_bytes=max_bytes,
                    deadline=self.deadline,
                    params=params,
                    headers=headers,
                )
            # Parsed after the slot is released: only Plex's own time holds one.
            return read(answer)

        try:
            return self.breaker.call(guarded)
        except pybreaker.CircuitBreakerError:
            wait = self.breaker.remaining_open_seconds()
            raise PlexUnavailable(
                f"Plex at {self.server} is not answering; MediaNest will try again in "
                f"{max(1, round(wait))} s.",
                retry_after=wait or 1,
            ) from None

    def _slot(self) -> AbstractContextManager[None]:
        """A slot of the server's fleet-wide limit for one request, waited for up to the
        timeout (as long as a connection is). Inside the breaker on purpose: an open circuit
        fails fast without asking for one, and a server that frees no slot within the timeout
        counts as one that does not answer in time."""
        if self.limiter is None:
            return nullcontext()
        return self.limiter.slot(lease=self.worst_case_seconds, wait=self.timeout)

    def _container(self, answer: Answer) -> Container:
        if plexxml.is_xml(answer.body):
            # Some servers and proxies answer XML whatever Accept asked for; judged by the
            # bytes, not the Content-Type, which proxies mislabel.
            return plexxml.media_container(answer.body, self.server)
        data = answer.json(self.server)
        container = data.get("MediaContainer") if isinstance(data, dict) else None
        if not isinstance(container, dict):
            raise PlexBadResponse(f"Plex at {self.server} sent JSON without a MediaContainer.")
        return container

    def _items(self, container: Container) -> list[MediaItem]:
        entries = container.get("Metadata") or []  # a missing array is an empty list
        if not isinstance(entries, list):
            raise PlexBadResponse(f"Plex at {self.server} sent Metadata that is not a list.")
        items = [entry for entry in entries if isinstance(entry, dict)]
        # A real /all (and a collection's children) names the section once, on the container;
        # its items don't repeat it. Copy it down so every item says where it lives.
        inherited = {name: container[name] for name in _INHERITED if name in container}
        if inherited:
            for entry in items:
                for name, value in inherited.items():
                    entry.setdefault(name, value)
        return [MediaItem.from_plex(entry) for entry in items]

    def _page(self, container: Container, offset: int) -> Page:
        items = self._items(container)
        total = container.get("totalSize")
        try:
            return Page(
                items=items,
                total_size=int(total) if total is not None else offset + len(items),
                offset=int(container.get("offset", offset) or 0),
            )
        except (TypeError, ValueError):
            raise PlexBadResponse(f"Plex at {self.server} sent a page without numbers.") from None

    # -- endpoints -------------------------------------------------------------------------

    def identity(self) -> ServerIdentity:
        # GET /identity: machineIdentifier, version, claimed; answered without a token.
        return self._fetch("/identity", auth=False, parse=ServerIdentity.from_plex)

    def server_info(self) -> ServerInfo:
        # GET /: the server root, friendlyName, machineIdentifier, version, platform.
        return self._fetch("/", parse=ServerInfo.from_plex)

    def libraries(self) -> list[Library]:
        # GET /library/sections: Directory[] of the sections this token may see.
        return self._fetch("/library/sections", parse=_libraries)

    def library_items(
        self,
        key: str | int,
        offset: int = 0,
        limit: int = 50,
        sort: str | None = None,
        include_collections: bool = False,
        type: str | int | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Page:
        # GET /library/sections/{key}/all: Metadata[] of a page, with totalSize and offset.
        # `filters` are Plex's own: genre=ID, year=1994, decade=1990, contentRating=PG-13,
        # unwatched=1 (this token's watch state); combined, they all apply.
        params: dict[str, Any] = {"sort": sort, "type": type_id(type)}
        for name, value in (filters or {}).items():
            if name not in FILTER_FIELDS:
                raise ValueError(f"unknown Plex filter {name!r}")
            params[name] = value
        if include_collections:
            params["includeCollections"] = 1
        return self._fetch(
            f"/library/sections/{_segment(key)}/all",
            params,
            offset=offset,
            limit=limit,
            parse=lambda container: self._page(container, offset),
        )

    def filter_choices(self, key: str | int, field: str) -> list[FilterChoice]:
        """The values a library's items can be filtered by on `field` (genre, year, decade,
        contentRating), as Plex lists them."""
        # GET /library/sections/{key}/{field}: Directory[] of {key (the value), title, fastKey}.
        if field not in CHOICE_FIELDS:
            raise ValueError(f"unknown Plex filter {field!r}")
        return self._fetch(
            f"/library/sections/{_segment(key)}/{field}",
            parse=lambda container: [
                FilterChoice.from_plex(entry)
                for entry in container.get("Directory") or []
                if isinstance(entry, dict) and entry.get("key") not in (None, "")
            ],
        )

    def continue_watching(self, limit: int = 20) -> list[MediaItem]:
        """What this token has started and not finished, and the next episode of the shows it
        is watching, most recent first."""
        try:
            # GET /hubs/continueWatching/items: the continue-watching hub (what Plex's own
            # apps and python-plexapi ask for).
            items = self._fetch(
                "/hubs/continueWatching/items", offset=0, limit=limit, parse=self._items
            )
        except PlexNotFound:
            # Older servers have only on deck: GET /library/onDeck.
            items = self._fetch("/library/onDeck", offset=0, limit=limit, parse=self._items)
        return items[:limit]

    def scrobble(self, rating_key: str | int) -> None:
        """Mark an item watched for this token (a show or season: every episode)."""
        self._mark("/:/scrobble", rating_key)

    def unscrobble(self, rating_key: str | int) -> None:
        """Mark an item unwatched for this token (a show or season: every episode)."""
        self._mark("/:/unscrobble", rating_key)

    def _mark(self, path: str, rating_key: str | int) -> None:
        # GET /:/scrobble?key=RATINGKEY&identifier=com.plexapp.plugins.library (and
        # /:/unscrobble): what python-plexapi sends; the answer's body says nothing.
        self._call(
            path,
            {"key": _segment(rating_key), "identifier": LIBRARY_IDENTIFIER},
            lambda answer: None,
            once=True,
        )

    def search(self, query: str, type: str | None = None, limit: int = 20) -> list[MediaItem]:
        """Items matching `query` in every library this token can see, best match first."""
        # GET /hubs/search?query=Q&limit=N: Hub[] by type, ordered by Plex by the quality of
        # their results, each with Metadata[]. `limit` is per hub, so ask for `limit` and cut
        # the merged list.
        hubs = self._fetch(
            "/hubs/search", {"query": query, "limit": limit}, parse=lambda c: c.get("Hub") or []
        )
        return _ranked(
            [
                item
                for hub in (hubs if isinstance(hubs, list) else [])
                if isinstance(hub, dict)
                for item in self._items(hub)
                if item.rating_key and item.type in MEDIA_TYPES and (type in (None, item.type))
            ]
        )[:limit]

    def collections(self, key: str | int) -> list[MediaItem]:
        # GET /library/sections/{key}/collections: Metadata[] of type "collection".
        return self._fetch(f"/library/sections/{_segment(key)}/collections", parse=self._items)

    def collection_items(self, rating_key: str | int, offset: int = 0, limit: int = 50) -> Page:
        # GET /library/collections/{ratingKey}/children: a page of the collection's items.
        return self._fetch(
            f"/library/collections/{_segment(rating_key)}/children",
            offset=offset,
            limit=limit,
            parse=lambda container: self._page(container, offset),
        )

    def recently_added(self, type: str | None = None, limit: int = 20) -> list[MediaItem]:
        if type is None:
            # GET /library/recentlyAdded: newest items of every section, newest first.
            items = self._fetch("/library/recentlyAdded", offset=0, limit=limit, parse=self._items)
        else:
            # GET /hubs/home/recentlyAdded?type=N: newest items of one kind.
            items = self._fetch(
                "/hubs/home/recentlyAdded",
                {"type": type_id(type)},
                offset=0,
                limit=limit,
                parse=self._items,
            )
        return items[:limit]

    def metadata(self, rating_key: str | int) -> MediaItem:
        # GET /library/metadata/{ratingKey}: one item with Genre[], Role[], Media[] details.
        items = self._fetch(f"/library/metadata/{_segment(rating_key)}", parse=self._items)
        if not items:
            raise PlexNotFound(f"Plex at {self.server} has no item {rating_key}.", status=404)
        return items[0]

    def children(self, rating_key: str | int) -> list[MediaItem]:
        # GET /library/metadata/{ratingKey}/children: a show's seasons, a season's episodes.
        # excludeAllLeaves drops the synthetic "All episodes" season.
        return self._fetch(
            f"/library/metadata/{_segment(rating_key)}/children",
            {"excludeAllLeaves": 1},
            parse=self._items,
        )

    def notifications(
        self,
        idle_timeout: float = 30.0,
        on_open: Callable[[requests.Response], None] | None = None,
    ) -> Generator[notifications_module.Notification, None, None]:
        """The server's notification stream, for the server owner's token (a shared user's is
        refused): what changed in the library, what is playing. Outside the breaker, which is
        for calls that end, and holding no slot of the limiter (a stream lasts for hours and
        would keep one from every request); the caller reconnects when it ends
        (PlexUnavailable)."""
        return notifications_module.read(
            self.trial_session,  # one attempt: the caller has its own backoff
            self.base_url + notifications_module.PATH,
            headers={**self._headers, "X-Plex-Token": self._token},
            server=self.server,
            connect_timeout=self.timeout,
            idle_timeout=idle_timeout,
            on_open=on_open,
        )

    def image(self, path: str, width: int, height: int) -> Image:
        """Image bytes that decode whole, typed by what they are (never by Plex's label)."""

        def read(answer: Answer) -> Image:
            try:
                content_type = checked_type(answer.body)
            except NotAnImage as exc:
                raise PlexBadResponse(
                    f"Plex at {self.server} sent no usable image for {path}: {exc}."
                ) from None
            return Image(content=answer.body, content_type=content_type)

        # GET /photo/:/transcode?url=PATH&width=W&height=H: image/jpeg or image/png bytes.
        return self._call(
            "/photo/:/transcode",
            {"url": path, "width": int(width), "height": int(height), "minSize": 1, "upscale": 1},
            read,
            accept="image/*",
            max_bytes=self.image_max_bytes,
        )


# The filters library_items passes on to Plex, and those whose values Plex lists.
CHOICE_FIELDS = ("genre", "year", "decade", "contentRating")
FILTER_FIELDS = (*CHOICE_FIELDS, "unwatched")
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"  # the library's plugin, for scrobbles

# Container attributes a list's items inherit when they don't carry their own.
_INHERITED = ("librarySectionID", "librarySectionTitle")


def _ranked(found: list[MediaItem]) -> list[MediaItem]:
    """Search hits best first: direct matches before related ones (a movie found through its
    actor), then by `score` when every hit has one, else in Plex's own order (hubs by the
    quality of their results, items as the hub lists them). sorted() is stable."""
    scored = all(item.score is not None for item in found)
    return sorted(
        found,
        key=lambda item: (
            item.related,
            -(item.score or 0.0) if scored else 0.0,
        ),
    )


def _libraries(container: Container) -> list[Library]:
    entries = container.get("Directory") or []
    return [Library.from_plex(entry) for entry in entries if isinstance(entry, dict)]


def _segment(value: str | int) -> str:
    """A rating key or section key as a path segment: ASCII digits only, so no path can be
    smuggled and no second spelling ("٣" for 3) names the same key."""
    text = str(value)
    if not _DIGITS.fullmatch(text):
        raise PlexNotFound(f"{text[:40]!r} is not a Plex key.", status=404)
    return text
