"""Typed results at the client's edge: views, serializers and templates never see raw Plex dicts.

Parsing follows the rules in docs/plex-api.md: a JSON body has one key, `MediaContainer`; missing
arrays mean empty; every media item, whatever its kind, is in `Metadata`; numbers may come as
strings (`ratingKey`, section `key`) or numbers; dates are unix seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

# Plex's numeric type ids, used by `type=` filters (movie 1, show 2, ... collection 18).
TYPE_IDS: dict[str, int] = {
    "movie": 1,
    "show": 2,
    "season": 3,
    "episode": 4,
    "trailer": 5,
    "person": 7,
    "artist": 8,
    "album": 9,
    "track": 10,
    "clip": 12,
    "photo": 13,
    "photoalbum": 14,
    "playlist": 15,
    "playlistFolder": 16,
    "collection": 18,
}

# The kinds of item MediaNest shows; search hubs of people, genres or places (tags, not
# items) are left out.
MEDIA_TYPES = frozenset(
    ("movie", "show", "season", "episode", "artist", "album", "track", "collection")
)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    seconds = _int(value)
    if seconds is None or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _tags(entries: Any) -> tuple[str, ...]:
    """`Genre: [{"tag": "Drama"}, ...]` -> ("Drama", ...); a missing array is empty."""
    if not isinstance(entries, list):
        return ()
    return tuple(
        str(entry["tag"]) for entry in entries if isinstance(entry, dict) and entry.get("tag")
    )


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """`GET /identity`, which Plex answers without a token."""

    machine_identifier: str
    version: str  # e.g. "1.43.2.10687-563d026ea"
    claimed: bool

    @classmethod
    def from_plex(cls, data: dict[str, Any]) -> ServerIdentity:
        return cls(
            machine_identifier=_str(data.get("machineIdentifier")),
            version=_str(data.get("version")),
            claimed=bool(_int(data.get("claimed")) or data.get("claimed") is True),
        )


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """`GET /`: who the server is."""

    name: str  # friendlyName, e.g. "Living room"
    machine_identifier: str
    version: str
    platform: str  # e.g. "Linux"
    updated_at: datetime | None

    @classmethod
    def from_plex(cls, data: dict[str, Any]) -> ServerInfo:
        return cls(
            name=_str(data.get("friendlyName")),
            machine_identifier=_str(data.get("machineIdentifier")),
            version=_str(data.get("version")),
            platform=_str(data.get("platform")),
            updated_at=_time(data.get("updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class Library:
    """One library section from `GET /library/sections`."""

    key: str  # section id as a string, e.g. "1"
    type: str  # movie, show, artist, photo
    title: str
    agent: str
    scanner: str
    language: str
    uuid: str
    updated_at: datetime | None
    created_at: datetime | None

    @classmethod
    def from_plex(cls, data: dict[str, Any]) -> Library:
        return cls(
            key=_str(data.get("key")),
            type=_str(data.get("type")),
            title=_str(data.get("title")),
            agent=_str(data.get("agent")),
            scanner=_str(data.get("scanner")),
            language=_str(data.get("language")),
            uuid=_str(data.get("uuid")),
            updated_at=_time(data.get("updatedAt")),
            created_at=_time(data.get("createdAt")),
        )


class _Attr(Generic[T]):
    """A typed attribute of MediaItem, read from the Plex dict and converted when accessed."""

    __slots__ = ("convert", "name", "plex_name")

    def __init__(self, plex_name: str, convert: Callable[[Any], T]) -> None:
        self.plex_name = plex_name
        self.convert = convert
        self.name = plex_name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, item: None, owner: type) -> _Attr[T]: ...
    @overload
    def __get__(self, item: MediaItem, owner: type) -> T: ...
    def __get__(self, item: MediaItem | None, owner: type) -> T | _Attr[T]:
        if item is None:
            return self
        return self.convert(item._data.get(self.plex_name))


def _count(value: Any) -> int:
    return _int(value) or 0


# Kinds whose watch state is their children's: "3 of 10 episodes watched".
_PARENT_TYPES = frozenset(("show", "season", "artist", "album", "collection"))


class MediaItem:
    """A movie, show, season, episode, artist, album, track or collection.

    A typed view over the item as Plex sent it: each attribute is converted when read, so a
    page of 20,000 items costs no more than its JSON (an eager dataclass tripled the client's
    time over bare requests in bench/client_scan.py). Lists carry the summary attributes;
    `metadata()` also fills genres, directors, writers, roles and countries.
    """

    __slots__ = ("_data",)

    rating_key = _Attr("ratingKey", _str)  # e.g. "44288"
    key = _Attr("key", _str)  # e.g. "/library/metadata/44288/children"
    guid = _Attr("guid", _str)  # e.g. "plex://show/5d9c08254eefaa001f5d6dcb"
    type = _Attr("type", _str)  # movie, show, season, episode, collection...
    title = _Attr("title", _str)
    summary = _Attr("summary", _str)
    year = _Attr("year", _int)
    thumb = _Attr("thumb", _str)  # a Plex image path, e.g. "/library/metadata/44288/thumb/17364"
    art = _Attr("art", _str)
    duration = _Attr("duration", _int)  # milliseconds, e.g. 6086421
    added_at = _Attr("addedAt", _time)
    updated_at = _Attr("updatedAt", _time)
    # Watch state: the token's own (Plex keeps it per account). Plex leaves these out when
    # the item was never played; viewOffset only while part-watched.
    view_count = _Attr("viewCount", _count)
    view_offset = _Attr("viewOffset", _int)  # milliseconds into the item
    last_viewed_at = _Attr("lastViewedAt", _time)
    # Seasons, episodes, albums and tracks
    parent_rating_key = _Attr("parentRatingKey", _str)
    parent_key = _Attr("parentKey", _str)
    parent_title = _Attr("parentTitle", _str)  # e.g. "Season 11"
    parent_index = _Attr("parentIndex", _int)
    parent_thumb = _Attr("parentThumb", _str)
    grandparent_rating_key = _Attr("grandparentRatingKey", _str)
    grandparent_key = _Attr("grandparentKey", _str)
    grandparent_title = _Attr("grandparentTitle", _str)  # e.g. "Penn & Teller: Fool Us"
    grandparent_thumb = _Attr("grandparentThumb", _str)
    index = _Attr("index", _int)  # season, episode or track number
    child_count = _Attr("childCount", _int)  # seasons of a show, items of a collection
    leaf_count = _Attr("leafCount", _int)  # episodes of a show or season
    viewed_leaf_count = _Attr("viewedLeafCount", _int)  # of those, watched by this token
    # Ratings and details
    rating = _Attr("rating", _float)  # critics, 0-10, e.g. 6.8
    audience_rating = _Attr("audienceRating", _float)
    content_rating = _Attr("contentRating", _str)  # e.g. "PG-13"
    originally_available_at = _Attr("originallyAvailableAt", _str)  # e.g. "2015-02-08"
    studio = _Attr("studio", _str)
    tagline = _Attr("tagline", _str)
    subtype = _Attr("subtype", _str)  # collections: the kind of items they hold
    library_section_id = _Attr("librarySectionID", _str)
    library_section_title = _Attr("librarySectionTitle", _str)  # e.g. "Movies"
    genres = _Attr("Genre", _tags)  # e.g. ("Comedy", "Drama")
    directors = _Attr("Director", _tags)
    writers = _Attr("Writer", _tags)
    roles = _Attr("Role", _tags)  # actors
    countries = _Attr("Country", _tags)
    # Search results only: relevance when Plex sends it, and why a related hit was found
    # (reason "actor", reasonTitle "Arnold Schwarzenegger": a movie found through its actor).
    score = _Attr("score", _float)
    reason = _Attr("reason", _str)
    reason_title = _Attr("reasonTitle", _str)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def raw(self) -> dict[str, Any]:
        """The item as Plex sent it (read-only, by convention): for renderers that read many
        attributes at once."""
        return self._data

    @property
    def watched(self) -> bool:
        """Seen to the end: every episode of a show or season, else played at least once."""
        if self.type in _PARENT_TYPES:
            leaves = self.leaf_count or 0
            return leaves > 0 and (self.viewed_leaf_count or 0) >= leaves
        return self.view_count > 0

    @property
    def progress(self) -> float:
        """How much of it this token has seen, 0..1: a show's or season's share of watched
        episodes; part of a movie or episode (viewOffset over duration); 1 once watched."""
        if self.type in _PARENT_TYPES:
            leaves = self.leaf_count
            return min(1.0, (self.viewed_leaf_count or 0) / leaves) if leaves else 0.0
        offset, duration = self.view_offset, self.duration
        if offset and duration and offset > 0:
            return round(min(1.0, offset / duration), 4)
        return 1.0 if self.view_count > 0 else 0.0

    @property
    def in_progress(self) -> bool:
        """Started and not finished: a movie or episode with a resume point."""
        return (
            self.type not in _PARENT_TYPES and 0.0 < self.progress < 1.0 and bool(self.view_offset)
        )

    @property
    def related(self) -> bool:
        """A search hit found through something else (its actor, its artist), not its title.
        "section" marks one of several identical results, "originalTitle" a match on the
        original title: both are still title matches."""
        return self.reason not in {"", "section", "originalTitle"}

    @classmethod
    def from_plex(cls, data: dict[str, Any]) -> MediaItem:
        return cls(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MediaItem) and self._data == other._data

    def __hash__(self) -> int:
        return hash((self.type, self.rating_key))

    def __repr__(self) -> str:
        return f"<MediaItem {self.type} {self.rating_key} {self.title!r}>"

    def __getstate__(self) -> dict[str, Any]:
        return self._data

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._data = state


@dataclass(frozen=True, slots=True)
class FilterChoice:
    """One value a library can be filtered by (`/library/sections/{key}/genre` and the like):
    `value` is what the filter takes (a genre's id, a year, "PG-13"), `title` what people
    read."""

    value: str
    title: str

    @classmethod
    def from_plex(cls, data: dict[str, Any]) -> FilterChoice:
        return cls(value=_str(data.get("key")), title=_str(data.get("title")))


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a longer list: `items` from `offset`, out of `total_size` in all."""

    items: list[MediaItem]
    total_size: int
    offset: int


@dataclass(frozen=True, slots=True)
class Image:
    """Image bytes from `/photo/:/transcode`, checked to decode whole."""

    content: bytes
    content_type: str  # what the bytes are: image/jpeg, image/png, image/gif or image/webp
