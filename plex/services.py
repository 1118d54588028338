"""What a MediaNest user may see on the Plex server, cached: the layer views call.

`PlexService.for_user(user)` pairs the active server with the user's own token; every method
returns `Cached[...]` (the value and whether it came from the cache, Plex or the last good
copy). Cache keys are scoped by server and by a keyed hash of the token, so what one token
sees is never served to another. When Plex rejects a user's token, the token is marked
invalid on that user alone and `PlexTokenInvalid` asks them to sign in again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings

from plex.cache import Cached, PlexCache
from plex.client import (
    Image,
    Library,
    MediaItem,
    Page,
    PlexAuthError,
    PlexBadResponse,
    PlexClient,
    PlexError,
    PlexNotFound,
    ServerInfo,
)
from plex.client.session import RETRY_BACKOFF_MAX, RETRY_TOTAL
from plex.connections import access_key
from plex.models import ServiceConfig

if TYPE_CHECKING:
    from accounts.models import User

T = TypeVar("T")

# The Plex image paths MediaNest proxies: an item's poster or art, a collection's composite.
IMAGE_PATH = re.compile(
    r"^/library/(?:metadata/(?P<item>\d+)/(?:thumb|art)|collections/(?P<collection>\d+)/composite)"
    r"/\d+$"
)


class PlexNotConfigured(PlexError):
    """No Plex server is configured and enabled yet."""


class PlexTokenMissing(PlexError):
    """The user has no Plex token (never signed in with Plex)."""


class PlexTokenInvalid(PlexAuthError):
    """Plex rejected the user's token: they must sign in with Plex again."""


def _digest(*parts: object) -> str:
    """Arguments in a cache key, hashed: keys stay short and never hold a search query."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


class PlexService:
    def __init__(self, config: ServiceConfig, user: User) -> None:
        self.config = config
        self.user = user
        token = user.plex_token or ""
        self.client: PlexClient = config.client(token)
        self._access = access_key(token)
        self._server = config.machine_identifier or _digest(config.base_url)
        # A waiter waits as long as a Plex call can take: every attempt's connect and read
        # timeouts plus the retry pauses.
        worst_call = (RETRY_TOTAL + 1) * 2 * config.timeout + RETRY_TOTAL * RETRY_BACKOFF_MAX
        self.cache = PlexCache(stale_ttl=settings.PLEX_CACHE_STALE_TTL, wait=worst_call)

    @classmethod
    def for_user(cls, user: User) -> PlexService:
        config = ServiceConfig.objects.active()
        if config is None:
            raise PlexNotConfigured("No Plex server is set up yet. An administrator can add one.")
        if not getattr(user, "plex_token", None):
            raise PlexTokenMissing("Your account has no Plex sign-in yet. Sign in with Plex.")
        if user.plex_token_invalid:
            raise PlexTokenInvalid("Plex no longer accepts your sign-in. Sign in with Plex again.")
        return cls(config, user)

    # -- the one path to the cache and the client -----------------------------------------

    def _cached(self, kind: str, ttl: int, load: Callable[[], T], *args: object) -> Cached[T]:
        key = f"plex:v1:{self._server}:{self._access}:{kind}:{_digest(*args)}"
        try:
            return self.cache.fetch(key, ttl, load)
        except PlexAuthError as exc:
            self.user.mark_plex_token_invalid()
            raise PlexTokenInvalid(
                "Plex no longer accepts your sign-in. Sign in with Plex again."
            ) from exc

    # -- what views ask for -------------------------------------------------------------

    def server_info(self) -> Cached[ServerInfo]:
        return self._cached("server", settings.PLEX_CACHE_TTL_SERVER, self.client.server_info)

    def libraries(self) -> Cached[list[Library]]:
        return self._cached("libraries", settings.PLEX_CACHE_TTL_LIBRARIES, self.client.libraries)

    def library_items(
        self,
        key: str,
        offset: int,
        limit: int,
        sort: str | None = None,
        include_collections: bool = False,
    ) -> Cached[Page]:
        return self._cached(
            "items",
            settings.PLEX_CACHE_TTL_ITEMS,
            lambda: self.client.library_items(
                key, offset=offset, limit=limit, sort=sort, include_collections=include_collections
            ),
            key,
            offset,
            limit,
            sort,
            include_collections,
        )

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
        """A poster or art image, after checking that this user may see its item."""
        match = IMAGE_PATH.fullmatch(path)  # fullmatch: "$" alone would allow a trailing newline
        if match is None:
            raise PlexNotFound("Not a Plex library image.")
        # The user's own (cached) view of the item decides: a 404 for them is a 404 here.
        self.metadata(match["item"] or match["collection"])
        # Access is checked above, per user; the bytes are the same for everyone allowed to
        # see them, so they are cached per server rather than once per user.
        key = f"plex:v1:{self._server}:image:{_digest(path, width, height)}"
        return self.cache.fetch(
            key,
            settings.PLEX_CACHE_TTL_IMAGES,
            lambda: _checked_image(self.client.image(path, width, height)),
        )


_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")


def _checked_image(image: Image) -> Image:
    """Only bytes that are an image are kept and served, whatever Content-Type claimed."""
    if not image.content.startswith(_MAGIC) or (
        image.content.startswith(b"RIFF") and image.content[8:12] != b"WEBP"
    ):
        raise PlexBadResponse("Plex sent an image that is not a JPEG, PNG, GIF or WebP.")
    return image
