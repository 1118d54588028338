"""Browsing a section as real servers offer it: `includeMeta=1`'s `Meta` (what a section can be
filtered and sorted by), the filter-value endpoints (`/library/sections/{key}/genre`...), the
filters themselves on `/all`, and the list form of items.

Evidence: the `Meta` of a real movie section (plex-samples `xml/library_movies_metadata.xml`,
`json/library__sectionKey__get-library-all.1.json`), real filter values
(`json/library__sectionKey__get-library-genres.1.json`, `...-countries.1.json`), python-plexapi
4.18's `LibrarySection._validateFilterField` for the query it sends (`genre=89`, `genre!=89`,
`year>>=2000`, `unwatched=1`, `title==X`, a comma for OR, a repeated field for AND).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from .library import TAG_FILTERS, Library, Section

if TYPE_CHECKING:
    from .watch import WatchState

LEVEL_TYPES = {
    1: "movie",
    2: "show",
    3: "season",
    4: "episode",
    8: "artist",
    9: "album",
    10: "track",
    18: "collection",
}
TYPE_NUMBERS = {kind: number for number, kind in LEVEL_TYPES.items()}
# The tag filters and the array each reads; `collection` reads the `Collection[]` of members.
TAG_ARRAYS = {name: array for array, name in TAG_FILTERS.items()} | {"collection": "Collection"}
# In list answers (`/all`, children, hubs) real items carry tags as `{tag}` only, and at most
# this many (real /all captures: Genre <= 2, Country <= 2, Writer <= 2, Director <= 3,
# Role <= 3 over 859 items); `/library/metadata/{key}` carries them all with ids.
LIST_TAG_LIMITS = {"Genre": 2, "Country": 2, "Writer": 2, "Director": 3, "Role": 3}
_LIST_ARRAYS = (*LIST_TAG_LIMITS, "Collection")

SORTS = (
    ("titleSort", "Title", "asc"),
    ("year", "Year", "desc"),
    ("originallyAvailableAt", "Release Date", "desc"),
    ("rating", "Critic Rating", "desc"),
    ("audienceRating", "Audience Rating", "desc"),
    ("duration", "Duration", "desc"),
    ("addedAt", "Date Added", "desc"),
)
# (filter, filterType, title) in the real order; only filters the emulator answers.
_FILTER_DEFS = {
    "genre": ("string", "Genre"),
    "year": ("integer", "Year"),
    "decade": ("integer", "Decade"),
    "contentRating": ("string", "Content Rating"),
    "collection": ("string", "Collection"),
    "director": ("string", "Director"),
    "actor": ("string", "Actor"),
    "writer": ("string", "Writer"),
    "country": ("string", "Country"),
    "studio": ("string", "Studio"),
    "unwatched": ("boolean", "Unplayed"),
    "inProgress": ("boolean", "In Progress"),
}
_TYPE_FILTERS = {
    "movie": (
        "genre",
        "year",
        "decade",
        "contentRating",
        "collection",
        "director",
        "actor",
        "writer",
        "country",
        "studio",
        "unwatched",
        "inProgress",
    ),
    "show": (
        "genre",
        "year",
        "contentRating",
        "collection",
        "actor",
        "country",
        "studio",
        "unwatched",
    ),
    "season": ("year", "unwatched"),
    "episode": ("year", "decade", "contentRating", "director", "writer", "actor", "unwatched"),
    "artist": ("genre",),
    "album": ("year", "decade"),
    "track": (),
    "collection": (),
}
# (key, title, type, subType) as in the real `Field[]`.
_FIELD_DEFS = {
    "title": ("Title", "string", None),
    "studio": ("Studio", "string", None),
    "contentRating": ("Content Rating", "tag", None),
    "year": ("Year", "integer", "year"),
    "decade": ("Decade", "integer", "decade"),
    "genre": ("Genre", "tag", None),
    "collection": ("Collection", "tag", None),
    "director": ("Director", "tag", None),
    "writer": ("Writer", "tag", None),
    "actor": ("Actor", "tag", None),
    "country": ("Country", "tag", None),
    "unwatched": ("Unplayed", "boolean", None),
    "inProgress": ("In Progress", "boolean", None),
}
# The real FieldType[] operators for the field types the emulator uses.
FIELD_TYPES = (
    ("tag", (("=", "is"), ("!=", "is not"))),
    (
        "integer",
        (("=", "is"), ("!=", "is not"), (">>=", "is greater than"), ("<<=", "is less than")),
    ),
    (
        "string",
        (
            ("=", "contains"),
            ("!=", "does not contain"),
            ("==", "is"),
            ("!==", "is not"),
            ("<=", "begins with"),
            (">=", "ends with"),
        ),
    ),
    ("boolean", (("=", "is true"), ("!=", "is false"))),
)
_SECTION_TYPES = {
    "movie": (("movie", "Movies"),),
    "show": (("show", "TV Shows"), ("season", "Seasons"), ("episode", "Episodes")),
    "artist": (("artist", "Artists"), ("album", "Albums"), ("track", "Tracks")),
}
_CHOICE_TITLES = {
    "genre": "By Genre",
    "year": "By Year",
    "decade": "By Decade",
    "contentRating": "By Content Rating",
    "collection": "By Collection",
    "director": "By Director",
    "actor": "By Starring Actor",
    "writer": "By Writer",
    "country": "By Country",
    "studio": "By Studio",
}
FILTER_ENDPOINTS = frozenset(_CHOICE_TITLES)
# Query parameters that are not filters. Real servers ignore parameters they do not know
# (clients send includeGuids, includeExternalMedia, checkFiles, X-Plex-* ...), so the emulator
# ignores unknown names too, rather than answering 400 (no capture shows a 400 for one).
_NOT_FILTERS = {"type", "sort", "limit", "group", "push", "pop", "and", "or"}
_FIELD = re.compile(r"(?:([a-zA-Z]+)\.)?([a-zA-Z]+)([!<>=]*)")


class BadFilter(ValueError):
    """A filter value of the wrong type: the server answers 400."""


def fold(text: str) -> str:
    """Case- and accent-insensitive form, as Plex's search matches."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def listed(item: dict[str, Any]) -> dict[str, Any]:
    """An item as list answers carry it: tags as bare `{tag}`, a few of each."""
    if not any(array in item for array in _LIST_ARRAYS):
        return item
    copy = dict(item)
    for array in _LIST_ARRAYS:
        if array in copy:
            limit = LIST_TAG_LIMITS.get(array)
            copy[array] = [{"tag": tag["tag"]} for tag in copy[array][:limit]]
    return copy


def detailed(item: dict[str, Any]) -> dict[str, Any]:
    """An item as `/library/metadata/{key}` carries it: besides the list's attributes, each
    part's `Stream[]` (video, audio, subtitles; real streams have no `key`) and, for rated
    kinds, `Rating[]` (image, value, type; no `tag`), as in every recorded details answer.
    Derived from the item's own values, so the library's random sequence is untouched."""
    copy = dict(item)
    if "Media" in copy:
        copy["Media"] = [
            {**media, "Part": [{**part, "Stream": _streams(media, part)} for part in media["Part"]]}
            for media in copy["Media"]
        ]
    ratings = []
    if "audienceRating" in copy:
        ratings.append({"image": "imdb://image.rating", "value": copy["audienceRating"],
                        "type": "audience"})  # fmt: skip
    if "rating" in copy and copy["type"] in {"movie", "show"}:
        ratings.append({"image": "rottentomatoes://image.rating.ripe", "value": copy["rating"],
                        "type": "critic"})  # fmt: skip
    if ratings:
        copy["Rating"] = ratings
    return copy


def _streams(media: dict[str, Any], part: dict[str, Any]) -> list[dict[str, Any]]:
    first = int(part["id"]) * 10
    video = media["videoCodec"]
    resolution = "4K" if media["videoResolution"] == "4k" else f"{media['videoResolution']}p"
    return [
        {
            "id": first,
            "streamType": 1,
            "default": True,
            "codec": video,
            "index": 0,
            "bitrate": media["bitrate"],
            "height": media["height"],
            "width": media["width"],
            "frameRate": 23.976,
            "displayTitle": f"{resolution} ({'HEVC' if video == 'hevc' else 'H.264'})",
            "extendedDisplayTitle": f"{resolution} ({'HEVC' if video == 'hevc' else 'H.264'})",
        },
        {
            "id": first + 1,
            "streamType": 2,
            "selected": True,
            "default": True,
            "codec": media["audioCodec"],
            "index": 1,
            "channels": media["audioChannels"],
            "language": "English",
            "languageTag": "en",
            "languageCode": "eng",
            "samplingRate": 48000,
            "displayTitle": "English (EAC3 5.1)",
            "extendedDisplayTitle": "English (EAC3 5.1)",
        },
        {
            "id": first + 2,
            "streamType": 3,
            "codec": "srt",
            "index": 2,
            "language": "English",
            "languageTag": "en",
            "languageCode": "eng",
            "displayTitle": "English (SRT)",
            "extendedDisplayTitle": "English (SRT)",
        },
    ]


def _is_primary(section: Section, kind: str) -> bool:
    return _SECTION_TYPES[section.type][0][0] == kind


def _filter_key(section: Section, kind: str, name: str) -> str:
    """Real: `/library/sections/1/genre` for the section's own type (captures); the spec says
    the key carries the level's `type` otherwise (python-plexapi builds `?type=N` the same way)."""
    base = f"/library/sections/{section.key}/{name}"
    return base if _is_primary(section, kind) else f"{base}?type={TYPE_NUMBERS[kind]}"


def meta_type(section: Section, kind: str, title: str, active: bool) -> dict[str, Any]:
    base = f"/library/sections/{section.key}"
    prefix = "" if _is_primary(section, kind) or kind == "collection" else f"{kind}."
    sorts = []
    for key, label, direction in SORTS:
        sort: dict[str, Any] = {}
        if key == "titleSort":
            sort = {"default": direction, "firstCharacterKey": f"{base}/firstCharacter"}
        sorts.append(
            {
                **sort,
                "defaultDirection": direction,
                "descKey": f"{prefix}{key}:desc",
                "key": f"{prefix}{key}",
                "title": label,
            }
        )
    names = _TYPE_FILTERS[kind]
    fields = [
        {
            "key": f"{prefix}{name}",
            **({"subType": _FIELD_DEFS[name][2]} if _FIELD_DEFS[name][2] else {}),
            "title": _FIELD_DEFS[name][0],
            "type": _FIELD_DEFS[name][1],
        }
        for name in ("title", *names)
        if name in _FIELD_DEFS
    ]
    return {
        "key": f"{base}/all?type={TYPE_NUMBERS[kind]}",
        "type": kind,
        "title": title,
        "active": active,
        "Filter": [
            {
                "filter": name,
                "filterType": _FILTER_DEFS[name][0],
                "key": _filter_key(section, kind, name),
                "title": _FILTER_DEFS[name][1],
                "type": "filter",
            }
            for name in names
        ],
        "Sort": sorts,
        "Field": fields,
    }


def meta(section: Section, active_kind: str) -> dict[str, Any]:
    """`Meta` of `/library/sections/{key}/all?includeMeta=1`: one `Type` per level, then the
    `folder` pseudo-type real servers list (no filters), then `FieldType[]`."""
    active_kind = active_kind or _SECTION_TYPES[section.type][0][0]
    types = [
        meta_type(section, kind, title, kind == active_kind)
        for kind, title in _SECTION_TYPES[section.type]
    ]
    types.append(
        {
            "key": f"/library/sections/{section.key}/folder",
            "type": "folder",
            "title": "Folders",
            "active": False,
        }
    )
    return {"Type": types, "FieldType": field_types()}


def field_types() -> list[dict[str, Any]]:
    return [
        {"type": kind, "Operator": [{"key": key, "title": title} for key, title in operators]}
        for kind, operators in FIELD_TYPES
    ]


def _decade(year: int) -> int:
    return year // 10 * 10


def filter_choices(
    library: Library, section: Section, name: str, level: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The values of one filter among a section's items of one level (its top level by
    default), as `Directory` entries: `key` is the value to filter by, `fastKey` the filter."""
    items = library.items_at_level(section, level)
    base = f"/library/sections/{section.key}/all?"
    type_arg = f"type={level}&" if level else ""
    entries: list[dict[str, Any]] = []
    if name in TAG_ARRAYS:
        array = TAG_ARRAYS[name]
        seen: dict[int, str] = {}
        for item in items:
            for tag in item.get(array, ()):
                seen[tag["id"]] = tag["tag"]
        for tag_id, title in sorted(seen.items(), key=lambda pair: fold(pair[1])):
            entry: dict[str, Any] = {
                "fastKey": f"{base}{type_arg}{name}={tag_id}",
                "key": str(tag_id),
                "title": title,
            }
            if name == "genre":
                entry["type"] = "genre"  # as the real /genre answer; its /country has none
            entries.append(entry)
    elif name in {"year", "decade"}:
        values = {item["year"] for item in items if item.get("year")}
        if name == "decade":
            values = {_decade(year) for year in values}
        for value in sorted(values, reverse=True):
            title = f"{value}s" if name == "decade" else str(value)
            entries.append(
                {"fastKey": f"{base}{type_arg}{name}={value}", "key": str(value), "title": title}
            )
    elif name in {"contentRating", "studio"}:
        strings = sorted({item[name] for item in items if item.get(name)}, key=fold)
        for value in strings:
            entries.append(
                {"fastKey": f"{base}{type_arg}{name}={value}", "key": value, "title": value}
            )
    attributes = {
        "allowSync": False,
        "art": f"/:/resources/{section.type}-fanart.jpg",
        "content": "secondary",
        "identifier": "com.plexapp.plugins.library",
        "mediaTagPrefix": "/system/bundle/media/flags/",
        "mediaTagVersion": 1_734_362_201,
        "nocache": True,
        "thumb": f"/:/resources/{section.type}.png",
        "title1": section.title,
        "title2": _CHOICE_TITLES[name],
        "viewGroup": "secondary",
    }
    return attributes, entries


def _ancestor(library: Library, item: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """`show.genre=` on episodes: the filter reads the item's show (or season...)."""
    current: dict[str, Any] | None = item
    while current is not None and current["type"] != kind:
        parent = current.get("parentRatingKey")
        current = library.by_key.get(parent) if parent else None
    return current


def _matcher(name: str, operator: str, value: str, watch: WatchState | None = None) -> Any:
    """A predicate on one item for one `field<operator>=value` of the query string."""
    values = value.split(",")
    negate = operator.startswith("!")
    if name in TAG_ARRAYS:
        array = TAG_ARRAYS[name]
        try:
            wanted = {int(v) for v in values}
        except ValueError:
            raise BadFilter(name) from None

        def tag_match(item: dict[str, Any]) -> bool:
            return any(tag.get("id") in wanted for tag in item.get(array, ()))

        return (lambda item: not tag_match(item)) if negate else tag_match
    if name in {"year", "decade"}:
        try:
            numbers = [int(float(v)) for v in values]
        except ValueError:
            raise BadFilter(name) from None

        def number(item: dict[str, Any]) -> int | None:
            year = item.get("year")
            if not isinstance(year, int):
                return None
            return _decade(year) if name == "decade" else year

        if operator == ">>":
            return lambda item: (n := number(item)) is not None and n > numbers[0]
        if operator == "<<":
            return lambda item: (n := number(item)) is not None and n < numbers[0]
        if negate:
            return lambda item: number(item) not in numbers
        return lambda item: number(item) in numbers
    if name in {"unwatched", "inProgress"}:
        truth = values[0] not in {"0", "false", ""}
        if negate:
            truth = not truth
        # The requesting account's state (watch.py): unplayed is no viewCount (a show or
        # season: some episode unplayed); in progress is a viewOffset.
        if watch is None:
            return lambda item: truth if name == "unwatched" else not truth
        if name == "unwatched":
            return lambda item: (not watch.played(item)) == truth
        return lambda item: watch.started(item) == truth
    if name == "contentRating":
        if negate:
            return lambda item: item.get(name) not in values
        return lambda item: item.get(name) in values
    if name in {"title", "studio"}:
        needles = [fold(v) for v in values]

        def text(item: dict[str, Any]) -> str:
            return fold(str(item.get(name) or ""))

        if operator == "=":  # `title==X`: is
            return lambda item: text(item) in needles
        if operator == "!=":  # `title!==X`: is not
            return lambda item: text(item) not in needles
        if operator == "<":  # `title<=X`: begins with
            return lambda item: any(text(item).startswith(n) for n in needles)
        if operator == ">":  # `title>=X`: ends with
            return lambda item: any(text(item).endswith(n) for n in needles)
        if negate:
            return lambda item: not any(n in text(item) for n in needles)
        return lambda item: any(n in text(item) for n in needles)
    return None


def apply_filters(
    library: Library,
    entries: list[dict[str, Any]],
    pairs: list[tuple[str, str]],
    watch: WatchState | None = None,
) -> list[dict[str, Any]]:
    """Keep the entries every filter of the query accepts. A comma in a value is OR; the same
    field twice is AND (python-plexapi's `&=`). `show.genre=` reads an episode's show."""
    for raw_name, value in pairs:
        if raw_name in _NOT_FILTERS or raw_name.startswith(("X-Plex-", "include")):
            continue
        match = _FIELD.fullmatch(raw_name)
        if match is None or (value == "" and match.group(2) in {"title", "studio"}):
            continue
        kind, name, operator = match.groups()
        predicate = _matcher(name, operator, value, watch)
        if predicate is None:
            continue  # not a filter the emulator knows: ignored, as real servers do
        if kind and kind not in {"collection"}:
            entries = [
                item
                for item in entries
                if (owner := _ancestor(library, item, kind)) is None or predicate(owner)
            ]
        else:
            entries = [item for item in entries if predicate(item)]
    return entries
