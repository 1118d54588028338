"""Typed Plex results as API JSON, with Plex's own camelCase names.

Each output field is declared once, in a table that yields both the fast function that builds
the JSON (a DRF Serializer per item would cost more than the cached lookup it serves) and the
serializer classes that document the shapes in the OpenAPI schema. Every image attribute
becomes a MediaNest image URL: Plex URLs, and so Plex tokens, never reach a client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from rest_framework import serializers

from plex.client import Library, MediaItem, Page, ServerInfo
from plex.images import ART, POSTER, image_url
from plex.links import play_url
from plex.services import LibraryFilters


def _unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _same(value: Any) -> Any:
    return value


def _list(value: Iterable[str]) -> list[str]:
    return list(value)


def _poster(path: str) -> str | None:
    return image_url(path, POSTER)


def _art(path: str) -> str | None:
    return image_url(path, ART)


Field = tuple[str, str, Callable[[Any], Any], Callable[[], serializers.Field]]


def _str(json: str, attr: str) -> Field:
    return (json, attr, _same, lambda: serializers.CharField(allow_blank=True))


def _int(json: str, attr: str, help_text: str = "") -> Field:
    return (
        json,
        attr,
        _same,
        lambda: serializers.IntegerField(allow_null=True, help_text=help_text),
    )


def _float(json: str, attr: str, help_text: str = "") -> Field:
    return (
        json,
        attr,
        _same,
        lambda: serializers.FloatField(allow_null=True, help_text=help_text),
    )


def _bool(json: str, attr: str, help_text: str = "") -> Field:
    return (json, attr, _same, lambda: serializers.BooleanField(help_text=help_text))


def _time(json: str, attr: str) -> Field:
    return (
        json,
        attr,
        _unix,
        lambda: serializers.IntegerField(allow_null=True, help_text="Unix seconds"),
    )


def _image(json: str, attr: str, convert: Callable[[str], str | None]) -> Field:
    return (
        json,
        attr,
        convert,
        lambda: serializers.CharField(allow_null=True, help_text="A MediaNest image URL"),
    )


def _tags(json: str, attr: str) -> Field:
    return (json, attr, _list, lambda: serializers.ListField(child=serializers.CharField()))


ITEM_FIELDS: list[Field] = [
    _str("ratingKey", "rating_key"),
    _str("guid", "guid"),
    _str("type", "type"),
    _str("title", "title"),
    _str("summary", "summary"),
    _int("year", "year"),
    _image("thumb", "thumb", _poster),
    _image("art", "art", _art),
    _int("duration", "duration", "Milliseconds"),
    _time("addedAt", "added_at"),
    _time("updatedAt", "updated_at"),
    _int("viewCount", "view_count"),
    _int("viewOffset", "view_offset", "Milliseconds into the item, while part-watched"),
    _time("lastViewedAt", "last_viewed_at"),
    _bool("watched", "watched", "Seen to the end (a show or season: every episode)"),
    _float("progress", "progress", "How much is watched, 0 to 1"),
    _str("parentRatingKey", "parent_rating_key"),
    _str("parentTitle", "parent_title"),
    _int("parentIndex", "parent_index"),
    _image("parentThumb", "parent_thumb", _poster),
    _str("grandparentRatingKey", "grandparent_rating_key"),
    _str("grandparentTitle", "grandparent_title"),
    _image("grandparentThumb", "grandparent_thumb", _poster),
    _int("index", "index"),
    _int("childCount", "child_count"),
    _int("leafCount", "leaf_count", "Episodes of a show or season, tracks of an album"),
    _int("viewedLeafCount", "viewed_leaf_count", "Of those, how many this user watched"),
    _float("rating", "rating"),
    _float("audienceRating", "audience_rating"),
    _str("contentRating", "content_rating"),
    _str("originallyAvailableAt", "originally_available_at"),
    _str("studio", "studio"),
    _str("tagline", "tagline"),
    _str("subtype", "subtype"),
    _str("librarySectionID", "library_section_id"),
    _str("librarySectionTitle", "library_section_title"),
    _tags("genres", "genres"),
    _tags("directors", "directors"),
    _tags("writers", "writers"),
    _tags("roles", "roles"),
    _tags("countries", "countries"),
    _float("score", "score"),
    _str("reason", "reason"),
    _str("reasonTitle", "reason_title"),
]
LIBRARY_FIELDS: list[Field] = [
    _str("key", "key"),
    _str("type", "type"),
    _str("title", "title"),
    _str("agent", "agent"),
    _str("scanner", "scanner"),
    _str("language", "language"),
    _str("uuid", "uuid"),
    _time("updatedAt", "updated_at"),
    _time("createdAt", "created_at"),
]
SERVER_FIELDS: list[Field] = [
    _str("name", "name"),
    _str("machineIdentifier", "machine_identifier"),
    _str("version", "version"),
    _str("platform", "platform"),
    _time("updatedAt", "updated_at"),
]


def _render(fields: list[Field], obj: object) -> dict[str, Any]:
    return {json: convert(getattr(obj, attr)) for json, attr, convert, _ in fields}


def _item_plan() -> list[tuple[str, str | None, Callable[[Any], Any], Callable[[Any], Any]]]:
    """ITEM_FIELDS as steps over the item's raw Plex dict: (JSON name, Plex name, the item
    attribute's own conversion, the API's), or Plex name None for a worked-out attribute
    (watched, progress), read as the property. Going through each descriptor was most of the
    time of a cached page (50 items x 50 fields)."""
    plan: list[tuple[str, str | None, Callable[[Any], Any], Callable[[Any], Any]]] = []
    for json, attr, convert, _ in ITEM_FIELDS:
        descriptor = getattr(MediaItem, attr)
        if isinstance(descriptor, property):
            assert descriptor.fget is not None
            plan.append((json, None, descriptor.fget, convert))
        else:
            plan.append((json, descriptor.plex_name, descriptor.convert, convert))
    return plan


_ITEM_PLAN = _item_plan()


def item_json(item: MediaItem, server: str = "") -> dict[str, Any]:
    """An item as the API sends it; `server` (the machine identifier) makes its playUrl."""
    raw = item.raw
    data = {}
    for json, plex_name, read, convert in _ITEM_PLAN:
        value = read(item) if plex_name is None else read(raw.get(plex_name))
        data[json] = value if convert is _same else convert(value)
    data["playUrl"] = play_url(server, data["ratingKey"])
    return data


def items_json(items: Iterable[MediaItem], server: str = "") -> list[dict[str, Any]]:
    return [item_json(item, server) for item in items]


def library_json(library: Library) -> dict[str, Any]:
    return _render(LIBRARY_FIELDS, library)


def libraries_json(libraries: Iterable[Library]) -> list[dict[str, Any]]:
    return [library_json(library) for library in libraries]


def server_json(info: ServerInfo) -> dict[str, Any]:
    return _render(SERVER_FIELDS, info)


def page_json(page: Page, limit: int, server: str = "") -> dict[str, Any]:
    return {
        "items": items_json(page.items, server),
        "totalSize": page.total_size,
        "offset": page.offset,
        "limit": limit,
    }


def filters_json(filters: LibraryFilters) -> dict[str, Any]:
    """{"genre": [{"value": "37", "title": "Comedy", "count": 12}, ...], ..., "unwatched":
    {"count": 40}}: each key is the parameter libraries/KEY/items takes."""
    data: dict[str, Any] = {
        field: [
            {"value": choice.value, "title": choice.title, "count": count}
            for choice, count in found
        ]
        for field, found in filters.choices.items()
    }
    data["unwatched"] = {"count": filters.unwatched}
    return data


# -- schema only -------------------------------------------------------------------------


def _serializer(name: str, fields: list[Field]) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {json: make() for json, _, _, make in fields})


MediaItemSchema = type(
    "MediaItem",
    (_serializer("MediaItemFields", ITEM_FIELDS),),
    {
        "playUrl": serializers.URLField(
            allow_null=True,
            help_text="Plex Web's page for the item on this server, to play it there",
        )
    },
)
LibrarySchema = _serializer("Library", LIBRARY_FIELDS)
ServerSchema = _serializer("Server", SERVER_FIELDS)


class PageSchema(serializers.Serializer):
    items = MediaItemSchema(many=True)
    totalSize = serializers.IntegerField()  # Plex's name
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()


class FilterChoiceSchema(serializers.Serializer):
    value = serializers.CharField(help_text="What the items parameter of the same name takes")
    title = serializers.CharField()
    count = serializers.IntegerField(
        allow_null=True, help_text="Items it shows; null when the field has too many values"
    )


class UnwatchedSchema(serializers.Serializer):
    count = serializers.IntegerField(help_text="Items this user has not watched")


class FiltersSchema(serializers.Serializer):
    genre = FilterChoiceSchema(many=True)
    year = FilterChoiceSchema(many=True)
    decade = FilterChoiceSchema(many=True)
    contentRating = FilterChoiceSchema(many=True)  # Plex's name
    unwatched = UnwatchedSchema()


class ErrorSchema(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
