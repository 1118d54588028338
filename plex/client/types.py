"""Typed results at the client's edge: views, serializers and templates never see raw Plex dicts.

Parsing follows the rules in PLEX_API.md: a JSON body has one key, `MediaContainer`; missing
arrays mean empty; every media item, whatever its kind, is in `Metadata`; numbers may come as
strings (`ratingKey`, section `key`) or numbers; dates are unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
TYPE_NAMES: dict[int, str] = {number: name for name, number in TYPE_IDS.items()}


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


@dataclass(frozen=True, slots=True)
class MediaItem:
    """A movie, show, season, episode, artist, album, track or collection.

    Lists carry the summary fields; `metadata()` adds the detail fields (genres, directors...).
    """

    rating_key: str  # e.g. "44288"
    key: str  # e.g. "/library/metadata/44288/children"
    guid: str
    type: str  # movie, show, season, episode, collection...
    title: str
    summary: str = ""
    year: int | None = None
    thumb: str = ""  # a Plex image path, e.g. "/library/metadata/44288/thumb/1736487993"
    art: str = ""
    duration: int | None = None  # milliseconds
    added_at: datetime | None = None
    updated_at: datetime | None = None
    view_count: int = 0
    last_viewed_at: datetime | None = None
    # Episodes and seasons
    parent_rating_key: str = ""
    parent_key: str = ""
    parent_title: str = ""
    parent_index: int | None = None
    parent_thumb: str = ""
    grandparent_rating_key: str = ""
    grandparent_key: str = ""
    grandparent_title: str = ""
    grandparent_thumb: str = ""
    index: int | None = None  # season number, episode number, track number
    child_count: int | None = None  # seasons of a show, items of a collection
    leaf_count: int | None = None  # episodes of a show or season
    # Ratings and details
    rating: float | None = None  # critics, 0-10
    audience_rating: float | None = None
    content_rating: str = ""  # e.g. "PG-13"
    originally_available_at: str = ""  # e.g. "2015-02-08"
    studio: str = ""
    tagline: str = ""
    subtype: str = ""  # collections: the kind of items they hold
    library_section_id: str = ""
    genres: tuple[str, ...] = ()
    directors: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    score: float | None = None  # search relevance, only in search results
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_plex(cls, data: dict[str, Any]) -> MediaItem:
        get = data.get
        return cls(
            rating_key=_str(get("ratingKey")),
            key=_str(get("key")),
            guid=_str(get("guid")),
            type=_str(get("type")),
            title=_str(get("title")),
            summary=_str(get("summary")),
            year=_int(get("year")),
            thumb=_str(get("thumb")),
            art=_str(get("art")),
            duration=_int(get("duration")),
            added_at=_time(get("addedAt")),
            updated_at=_time(get("updatedAt")),
            view_count=_int(get("viewCount")) or 0,
            last_viewed_at=_time(get("lastViewedAt")),
            parent_rating_key=_str(get("parentRatingKey")),
            parent_key=_str(get("parentKey")),
            parent_title=_str(get("parentTitle")),
            parent_index=_int(get("parentIndex")),
            parent_thumb=_str(get("parentThumb")),
            grandparent_rating_key=_str(get("grandparentRatingKey")),
            grandparent_key=_str(get("grandparentKey")),
            grandparent_title=_str(get("grandparentTitle")),
            grandparent_thumb=_str(get("grandparentThumb")),
            index=_int(get("index")),
            child_count=_int(get("childCount")),
            leaf_count=_int(get("leafCount")),
            rating=_float(get("rating")),
            audience_rating=_float(get("audienceRating")),
            content_rating=_str(get("contentRating")),
            originally_available_at=_str(get("originallyAvailableAt")),
            studio=_str(get("studio")),
            tagline=_str(get("tagline")),
            subtype=_str(get("subtype")),
            library_section_id=_str(get("librarySectionID")),
            genres=_tags(get("Genre")),
            directors=_tags(get("Director")),
            writers=_tags(get("Writer")),
            roles=_tags(get("Role")),
            countries=_tags(get("Country")),
            score=_float(get("score")),
        )


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a longer list: `items` from `offset`, out of `total_size` in all."""

    items: list[MediaItem]
    total_size: int
    offset: int


@dataclass(frozen=True, slots=True)
class Image:
    """Image bytes from `/photo/:/transcode`."""

    content: bytes
    content_type: str  # image/jpeg or image/png
