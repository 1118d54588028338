"""What a MediaNest user may see on the Plex server, cached: the layer views call.

`PlexService.for_user(user)` pairs the active server with the user's own token; every method
returns `Cached[...]` (the value and whether it came from the cache, Plex or the last good
copy). Cache keys are scoped by server and by a keyed hash of the token, so what one token
sees is never served to another. When Plex answers 401, a cheap authenticated request
confirms it before the token is marked invalid (on that user alone) and `PlexTokenInvalid`
asks them to sign in again; a 401 that does not confirm is a refusal of that one resource.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache as default_cache
from django.utils import timezone

from plex.cache import Cached, PlexCache
from plex.client import (
    CHOICE_FIELDS,
    FilterChoice,
    Image,
    Library,
    MediaItem,
    Page,
    PlexAuthError,
    PlexClient,
    PlexError,
    PlexForbidden,
    PlexNotFound,
    PlexUnavailable,
    ServerIdentity,
    ServerInfo,
)
from plex.connections import access_key, client_for, current, server_name
from plex.discovery import heal, identity_holds
from plex.freshness import Freshness, Scope, Stamp, watch_key
from plex.images import image_item_key, image_size
from plex.models import ServiceConfig

if TYPE_CHECKING:
    from accounts.models import User

T = TypeVar("T")


class PlexNotConfigured(PlexError):
    """No Plex server is configured and enabled yet."""

    public_message = "No Plex server is set up yet. An administrator can add one."

    def __init__(self, message: str = "No Plex server is configured and enabled.") -> None:
        super().__init__(message)


class PlexTokenMissing(PlexError):
    """The user has no Plex token (never signed in with Plex)."""

    public_message = "Your account has no Plex sign-in yet. Sign in with Plex."


class PlexTokenInvalid(PlexAuthError):
    """Plex rejected the user's token: they must sign in with Plex again."""


def check_connection(
    config: ServiceConfig, token: str | None = None
) -> ServerInfo | ServerIdentity:
    """Ask the server who it is, record the answer or the failure on `config`, and return the
    answer (the admin's "Test connection", plex_configure, the first sign-in).

    With a token this reads the server root (name, version, machine identifier); without one,
    /identity, which Plex answers to anybody but which carries no name. A failure is recorded
    in last_error and raised as the client's PlexError.
    """
    config.checked_at = timezone.now()
    try:
        client = client_for(config.address, token or "")
        info: ServerInfo | ServerIdentity = client.server_info() if token else client.identity()
    except PlexError as exc:
        config.last_error = str(exc)
        config.save(update_fields=["last_error", "checked_at"])
        raise
    config.server_name = getattr(info, "name", "") or config.server_name
    config.machine_identifier = info.machine_identifier
    config.version = info.version
    config.last_error = ""
    config.save(
        update_fields=["server_name", "machine_identifier", "version", "last_error", "checked_at"]
    )
    return info


CONFIG_VERSION_KEY = "plex:v1:config-version"
CONFIG_RECHECK = 1.0  # seconds a process trusts its copy of the configuration without asking


@dataclass(slots=True)
class _ConfigMemo:
    config: ServiceConfig | None
    version: Any
    checked_at: float


def active_config() -> ServiceConfig | None:
    """The active server's configuration for the request path, without a database query on
    every request: this process's copy, trusted for CONFIG_RECHECK seconds, then kept as long
    as the version counter in the cache (moved on by every save, plex/signals.py) says it is
    current. An edit reaches every process within about a second. Without the cache, the
    database is asked each time."""
    connections = current()
    memo: _ConfigMemo | None = connections.config_memo
    now = time.monotonic()
    if memo is not None and now - memo.checked_at < CONFIG_RECHECK:
        return memo.config
    version, cache_ok = connections.guard.call(lambda: default_cache.get(CONFIG_VERSION_KEY))
    if memo is not None and cache_ok and version == memo.version:
        memo.checked_at = now
        return memo.config
    config = ServiceConfig.objects.active()
    connections.config_memo = _ConfigMemo(config, version, now) if cache_ok else None
    return config


def config_changed() -> None:
    """A configuration was saved or deleted: every process reads it again (plex/signals.py)."""
    connections = current()
    connections.config_memo = None

    def bump() -> None:
        if not default_cache.add(CONFIG_VERSION_KEY, 1, timeout=None):
            default_cache.incr(CONFIG_VERSION_KEY)

    connections.guard.call(bump)


def public_server_name() -> str:
    """The name users see for the configured server ("Plex (Olive's server)"), for messages
    that must not carry its address."""
    config = active_config()
    return config.public_name if config is not None else "Plex"


# What each kind of answer depends on (plex/freshness.py): a user's watch state and one
# section's content, or the whole library's; "none": neither (the seed's TTL alone).
_SCOPES: dict[str, Scope] = {
    "server": "none",
    "libraries": "none",
    "items": "section",
    "collections": "section",
    "filters": "section",
    "choices": "section",
    "collection": "item",
    "item": "item",
    "children": "item",
    "search": "library",
    "recent": "library",
    "continue": "continue",
}
FILTER_COUNT_MAX = 40  # a field's choices are counted when it has at most this many


@dataclass(frozen=True, slots=True)
class LibraryFilters:
    """A library's filter choices, each with the number of items it would show (None when the
    field has too many values to count), and how many items the user has not watched."""

    choices: dict[str, list[tuple[FilterChoice, int | None]]]
    unwatched: int


def server_id(config: ServiceConfig) -> str:
    """The server's name in cache keys: its machine identifier, else a hash of its URL."""
    return config.machine_identifier or _digest(config.base_url)


def freshness_for(config: ServiceConfig) -> Freshness:
    """The server's generations and event status, for the listener and /healthz."""
    cache = PlexCache(stale_ttl=settings.PLEX_CACHE_STALE_TTL, wait=1.0, guard=current().guard)
    return Freshness(cache, server_id(config))


def _digest(*parts: object) -> str:
    """Arguments in a cache key, hashed: keys stay short and never hold a search query."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


class PlexService:
    def __init__(self, config: ServiceConfig, user: User) -> None:
        self.config = config
        self.user = user
        token = user.plex_token or ""
        self.client: PlexClient = client_for(config.address, token)
        self._access = access_key(token)
        self._server = server_id(config)
        connections = current()
        self.cache = PlexCache(
            stale_ttl=settings.PLEX_CACHE_STALE_TTL,
            wait=self.client.worst_case_seconds,  # a waiter waits as long as a call can take
            guard=connections.guard,
            bulkhead=connections.bulkhead,
        )
        self.freshness = Freshness(self.cache, self._server)
        self._stamps: dict[tuple[str, str], Stamp] = {}  # a request sees one generation
        self._healed = False  # a request moves the server to another connection once at most

    @classmethod
    def for_user(cls, user: User | AnonymousUser) -> PlexService:
        """The service for a request's user: a signed-in user with a Plex token MediaNest has
        not seen refused (views are behind login_required or IsAuthenticated; an anonymous
        user would have no token)."""
        config = active_config()
        if config is None:
            raise PlexNotConfigured()
        if isinstance(user, AnonymousUser) or not user.plex_token:
            raise PlexTokenMissing(f"User {user.pk} has no Plex token.")
        if user.plex_token_invalid:
            raise PlexTokenInvalid(f"User {user.pk}'s Plex token was refused before.")
        return cls(config, user)

    # -- the one path to the cache and the client -----------------------------------------

    def _cached(
        self,
        kind: str,
        ttl: int,
        load: Callable[[], T],
        *args: object,
        shared: bool = False,
    ) -> Cached[T]:
        """The one path to Plex: cached per server and per token's access, or, for `shared`
        values that are the same for everyone allowed to ask (image bytes, asked for after
        an access check), per server only. Answers that carry this user's watch state are
        keyed by their watch generation too: marking something watched moves it on, and all
        of them (the item, its show, the pages and rows that show it) are asked anew."""
        key = f"plex:v1:{self._server}:{'shared' if shared else self._access}:{kind}:"
        key += _digest(*args)
        scope = "none" if shared else _SCOPES[kind]
        read = None
        if scope != "none":
            subject = str(args[0]) if scope in ("section", "item") else ""
            stamp = self._stamps.get((scope, subject))  # a request sees one generation
            if stamp is None:
                # The stamp and the answer in one round trip to the cache.
                stamp, read = self.freshness.stamp_and_read(
                    scope, key, access=self._access, subject=subject
                )
                self._stamps[(scope, subject)] = stamp
            key = f"{key}@{stamp.text}"
            if stamp.live:  # the listener keeps it true: it may live much longer
                ttl = max(ttl, settings.PLEX_CACHE_TTL_LIVE)
        if self.config.heals:
            load = self._same_server(load)
        try:
            result = self.cache.fetch(key, ttl, load, read)
        except PlexAuthError as exc:
            raise self._refusal(exc) from exc
        except PlexUnavailable:
            if not self._moved():
                raise
            return self.cache.fetch(key, ttl, load)
        if result.stale and isinstance(result.error, PlexUnavailable) and self._moved():
            return self.cache.fetch(key, ttl, load)  # the copy is stale only for the address
        return result

    def _same_server(self, load: Callable[[], T]) -> Callable[[], T]:
        """`load`, once the address in use still answers as the configured server (asked at
        most once a minute): an address taken by another server must not fill the cache."""

        def checked() -> T:
            if not identity_holds(self.config):
                raise PlexUnavailable(
                    f"Another Plex server answers at {server_name(self.config.base_url)}."
                )
            return load()

        return checked

    def _moved(self) -> bool:
        """Plex is not answering at the address in use: for a server set up from plex.tv, move
        to another of its connections that answers (plex/discovery.py). True when it moved;
        this service then asks at the new address."""
        if self._healed or not self.config.heals:
            return False
        self._healed = True
        moved = heal(self.config)
        if moved is None:
            return False
        self.config = moved
        self.client = client_for(moved.address, self.user.plex_token or "")
        return True

    def _refusal(self, exc: PlexAuthError) -> PlexError:
        """A 401 for one resource may be a proxy's hiccup or a resource the server keeps from
        shared users: only a 401 for the server root too says the token itself is refused."""
        try:
            self.client.server_info()
        except PlexAuthError:
            self.user.mark_plex_token_invalid()
            return PlexTokenInvalid("Plex refused the token on a second request too (401).")
        except PlexError as failure:
            return failure  # cannot tell now (Plex is down, say): nothing is marked
        return PlexForbidden(f"{exc} The server root answers this token: only this is refused.")

    # -- what views ask for -------------------------------------------------------------

    def server_info(self) -> Cached[ServerInfo]:
        return self._cached(
            "server", settings.PLEX_CACHE_TTL_SERVER, lambda: self.client.server_info()
        )

    def libraries(self) -> Cached[list[Library]]:
        return self._cached(
            "libraries", settings.PLEX_CACHE_TTL_LIBRARIES, lambda: self.client.libraries()
        )

    def library_items(
        self,
        key: str,
        offset: int,
        limit: int,
        sort: str | None = None,
        include_collections: bool = False,
        filters: Mapping[str, str] | None = None,
    ) -> Cached[Page]:
        wanted = dict(sorted((filters or {}).items()))  # one key whatever the order given
        return self._cached(
            "items",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.library_items(
                key,
                offset=offset,
                limit=limit,
                sort=sort,
                include_collections=include_collections,
                filters=wanted,
            ),
            key,
            offset,
            limit,
            sort,
            include_collections,
            wanted,
        )

    def filter_choices(self, key: str) -> Cached[dict[str, list[FilterChoice]]]:
        """What a library can be filtered by: field -> the values Plex lists for it."""
        return self._cached(
            "choices",
            settings.PLEX_CACHE_TTL_LIBRARIES,
            lambda: {field: self.client.filter_choices(key, field) for field in CHOICE_FIELDS},
            key,
        )

    def filters(self, key: str) -> Cached[LibraryFilters]:
        """The filter choices with how many of this user's items each would show, and how
        many they have not watched. Plex's filter lists carry no counts: each is one
        count-only request (a page of size 0), so a field with more than FILTER_COUNT_MAX
        values (years, in a big library) goes without them."""

        def load() -> LibraryFilters:
            choices = self.filter_choices(key).value  # only when the counts are not cached

            def count(name: str, value: str) -> int:
                filtered = {name: value}
                return self.client.library_items(key, 0, 0, filters=filtered).total_size

            counted = {
                field: [
                    (choice, count(field, choice.value) if len(found) <= FILTER_COUNT_MAX else None)
                    for choice in found
                ]
                for field, found in choices.items()
            }
            return LibraryFilters(choices=counted, unwatched=count("unwatched", "1"))

        return self._cached("filters", settings.PLEX_CACHE_TTL_ITEMS, load, key)

    def continue_watching(self, limit: int = 20) -> Cached[list[MediaItem]]:
        return self._cached(
            "continue",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.continue_watching(limit=limit),
            limit,
        )

    def mark_watched(self, rating_key: str, watched: bool = True) -> Cached[MediaItem]:
        """Mark an item (a show or season: every episode) watched or unwatched on Plex, for
        this user alone, and return it as Plex now has it. Only once Plex said yes is this
        user's watch generation moved on, so their cached answers are asked anew; a failure
        changes nothing. No other user's cache is touched."""
        mark = self.client.scrobble if watched else self.client.unscrobble
        try:
            mark(rating_key)
        except PlexAuthError as exc:
            raise self._refusal(exc) from exc
        self.cache.advance(watch_key(self._server, self._access))
        self._stamps.clear()
        return self.metadata(rating_key)

    def collections(self, key: str) -> Cached[list[MediaItem]]:
        return self._cached(
            "collections", settings.PLEX_CACHE_TTL_ITEMS, lambda: self.client.collections(key), key
        )

    def collection_items(self, rating_key: str, offset: int, limit: int) -> Cached[Page]:
        return self._cached(
            "collection",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.collection_items(rating_key, offset=offset, limit=limit),
            rating_key,
            offset,
            limit,
        )

    def metadata(self, rating_key: str) -> Cached[MediaItem]:
        return self._cached(
            "item",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.metadata(rating_key),
            rating_key,
        )

    def children(self, rating_key: str) -> Cached[list[MediaItem]]:
        return self._cached(
            "children",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.children(rating_key),
            rating_key,
        )

    def search(
        self, query: str, type: str | None = None, limit: int = 20
    ) -> Cached[list[MediaItem]]:
        return self._cached(
            "search",
            settings.PLEX_CACHE_TTL_SEARCH,
            lambda: self.client.search(query, type=type, limit=limit),
            query,
            type,
            limit,
        )

    def recently_added(self, type: str | None = None, limit: int = 20) -> Cached[list[MediaItem]]:
        return self._cached(
            "recent",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.recently_added(type=type, limit=limit),
            type,
            limit,
        )

    def image(self, path: str, width: int, height: int) -> Cached[Image]:
        """A poster or art image at one of the served sizes, after checking that this user may
        see its item. The client has checked the bytes decode whole and typed them."""
        item_key = image_item_key(path)
        if item_key is None:
            raise PlexNotFound("Not a Plex library image.")
        # The user's own (cached) view of the item decides: a 404 for them is a 404 here.
        self.metadata(item_key)
        # Access is checked above, per user; the bytes are the same for everyone allowed to
        # see them, so they are cached per server rather than once per user.
        size = image_size(width, height)
        return self._cached(
            "image",
            settings.PLEX_CACHE_TTL_IMAGES,
            lambda: self.client.image(path, *size),
            path,
            size,
            shared=True,
        )
