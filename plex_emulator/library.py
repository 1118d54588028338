"""The emulator's media library: deterministic, generated from a seed, shaped like Plex's JSON.

Items are stored as the dicts Plex sends (camelCase attributes, child arrays such as `Genre`),
so the server only filters, sorts, pages and serialises. Sections:

    1 Movies      movie   shared with the friend
    2 4K Movies   movie   owner only (the unshared section)
    3 TV Shows    show    shared; shows > seasons > episodes
    4 Music       artist  shared; artists > albums > tracks
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

BASE_TIME = 1_700_000_000  # 2023-11-14; every date is derived from it, never from the clock

_ADJECTIVES = (
    "Silent",
    "Crimson",
    "Hidden",
    "Last",
    "Golden",
    "Broken",
    "Distant",
    "Frozen",
    "Midnight",
    "Wild",
    "Electric",
    "Forgotten",
    "Burning",
    "Velvet",
    "Hollow",
    "Restless",
    "Northern",
    "Secret",
    "Paper",
    "Glass",
    "Iron",
    "Lonely",
    "Bright",
    "Shadow",
    "Summer",
    "Winter",
)
_NOUNS = (
    "Harbor",
    "Garden",
    "Horizon",
    "Station",
    "Empire",
    "River",
    "Letters",
    "Kingdom",
    "Signal",
    "Orchard",
    "Voyage",
    "Mirror",
    "Lighthouse",
    "Frontier",
    "Carnival",
    "Machine",
    "Island",
    "Season",
    "Witness",
    "Parade",
    "Compass",
    "Archive",
    "Canyon",
    "Requiem",
    "Tide",
    "Circus",
)
# Real libraries hold accents, ampersands, quotes and colons; searches must survive them.
_SPECIAL_TITLES = (
    "Amélie's Garden",
    "Léon & Mathilda",
    'The "Quiet" Ones',
    "Crème Brûlée: A Love Story",
    "Señor Midnight",
    "Ørsted #1",
    "Café Society",
    "Smith & Wesson's Day Off",
)
_GENRES = (
    "Drama",
    "Comedy",
    "Action",
    "Thriller",
    "Science Fiction",
    "Romance",
    "Animation",
    "Documentary",
    "Horror",
    "Adventure",
    "Mystery",
    "Family",
    "Fantasy",
    "Crime",
)
_STUDIOS = ("Northlight Pictures", "Blue Harbor Films", "Paper Moon Studios", "Atlas Entertainment")
_CONTENT_RATINGS = ("G", "PG", "PG-13", "R")
_TV_RATINGS = ("TV-PG", "TV-14", "TV-MA")
_FIRST = ("Ava", "Noah", "Mila", "Leo", "Zoe", "Omar", "Iris", "Hugo", "Nina", "Theo", "Ines")
_LAST = ("Marsh", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Reyes", "Novak", "Byrne", "Haddad")
_SENTENCES = (
    "A stranger arrives with a letter that changes everything.",
    "Two old friends reunite for one last journey across the country.",
    "Nothing in the small town is quite what it seems.",
    "An unlikely team races against time to set things right.",
    "Secrets buried for decades come back to the surface.",
    "A family learns what really matters when the lights go out.",
    "Ambition and loyalty collide in a city that never sleeps.",
    "A gifted musician must choose between fame and home.",
)

MOVIE_SECTION, UHD_SECTION, TV_SECTION, MUSIC_SECTION = "1", "2", "3", "4"
# Tag arrays and the filter each answers to (`Role` is filtered as `actor`), as real tags say.
TAG_FILTERS = {
    "Genre": "genre",
    "Country": "country",
    "Director": "director",
    "Writer": "writer",
    "Role": "actor",
}
PEOPLE = ("Director", "Writer", "Role")


@dataclass
class Section:
    key: str
    type: str  # movie, show, artist
    title: str
    agent: str
    scanner: str
    uuid: str
    shared: bool  # visible to the friend token
    created_at: int
    updated_at: int
    items: list[dict[str, Any]] = field(default_factory=list)  # top-level items
    collections: list[dict[str, Any]] = field(default_factory=list)
    _sorted: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)

    def directory(self) -> dict[str, Any]:
        """The section as /library/sections lists it."""
        return {
            "allowSync": True,
            "art": f"/:/resources/{self.type}-fanart.jpg",
            "composite": f"/library/sections/{self.key}/composite/{self.updated_at}",
            "filters": True,
            "refreshing": False,
            "thumb": f"/:/resources/{self.type}.png",
            "key": self.key,
            "type": self.type,
            "title": self.title,
            "agent": self.agent,
            "scanner": self.scanner,
            "language": "en-US",
            "uuid": self.uuid,
            "updatedAt": self.updated_at,
            "createdAt": self.created_at,
            "scannedAt": self.updated_at,
            "content": True,
            "directory": True,
            "contentChangedAt": self.updated_at,
            "hidden": 0,
            "Location": [{"id": int(self.key), "path": f"/data/{self.title.replace(' ', '')}"}],
        }


def _uuid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-8{value[17:20]}-{value[20:32]}"


def _summary(rng: random.Random) -> str:
    return " ".join(rng.sample(_SENTENCES, 2))


def _people(rng: random.Random, count: int) -> list[dict[str, Any]]:
    names = {f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(count)}
    return [{"tag": name} for name in sorted(names)]


def _aside(seed: int, key: str) -> random.Random:
    """A generator of its own per item: extra attributes never shift the main sequence."""
    return random.Random(f"{seed}:{key}")


def title_sort(title: str) -> str:
    lowered = title.lower().lstrip("'\"")
    for article in ("the ", "a ", "an "):
        if lowered.startswith(article):
            return lowered[len(article) :]
    return lowered


class Library:
    """Every section and item, plus the indexes the server needs."""

    def __init__(self, *, movies: int = 120, shows: int = 12, seed: int = 42) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.machine_identifier = hashlib.sha1(f"medianest-emulator-{seed}".encode()).hexdigest()
        self.by_key: dict[str, dict[str, Any]] = {}
        self.children_of: dict[str, list[dict[str, Any]]] = {}
        self.collection_items: dict[str, list[dict[str, Any]]] = {}
        self.section_of: dict[str, str] = {}  # ratingKey -> section key
        self._next_key = 1000
        self.sections: dict[str, Section] = {}
        self._original: tuple[Any, ...] | None = None  # the generated indexes, once changed
        self._add_section(MOVIE_SECTION, "movie", "Movies", shared=True)
        self._add_section(UHD_SECTION, "movie", "4K Movies", shared=False)
        self._add_section(TV_SECTION, "show", "TV Shows", shared=True)
        self._add_section(MUSIC_SECTION, "artist", "Music", shared=True)
        self._make_movies(self.sections[MOVIE_SECTION], movies, special=True)
        self._make_movies(self.sections[UHD_SECTION], max(6, movies // 10), special=False)
        self._make_shows(self.sections[TV_SECTION], shows)
        self._make_music(self.sections[MUSIC_SECTION], max(4, shows // 2))
        self._make_collections()
        # After every item exists, and without touching self.rng (titles stay as they were):
        # tag ids and the recently-added groupings. Watch state is per account (watch.py).
        self.tags: dict[tuple[str, str], int] = {}  # (tag array, value) -> id
        self.tag_keys: dict[str, str] = {}  # person -> tagKey (the same across roles)
        self._tag_everything()
        # Newest first, across sections: what /library/recentlyAdded serves. TV is grouped into
        # seasons (a season's addedAt there is its newest episode's), music into albums.
        self.season_added: dict[str, int] = {}
        for item in self.by_key.values():
            if item["type"] == "episode":
                season_key = item["parentRatingKey"]
                newest = max(self.season_added.get(season_key, 0), item["addedAt"])
                self.season_added[season_key] = newest
        self.recent = sorted(
            (
                item
                for item in self.by_key.values()
                if item["type"] in {"movie", "album"}
                or (item["type"] == "season" and item["ratingKey"] in self.season_added)
            ),
            key=lambda item: (-self.added_at(item), int(item["ratingKey"])),
        )
        self.recent_episodes = sorted(
            (item for item in self.by_key.values() if item["type"] == "episode"),
            key=lambda item: (-item["addedAt"], int(item["ratingKey"])),
        )

    def added_at(self, item: dict[str, Any]) -> int:
        """When an entry of recentlyAdded was added: a season's is its newest episode's."""
        return self.season_added.get(item["ratingKey"], item["addedAt"])

    # -- building -----------------------------------------------------------------------

    def _add_section(self, key: str, kind: str, title: str, *, shared: bool) -> None:
        agent, scanner = {
            "movie": ("tv.plex.agents.movie", "Plex Movie"),
            "show": ("tv.plex.agents.series", "Plex TV Series"),
            "artist": ("tv.plex.agents.music", "Plex Music"),
        }[kind]
        self.sections[key] = Section(
            key=key,
            type=kind,
            title=title,
            agent=agent,
            scanner=scanner,
            uuid=_uuid(self.rng),
            shared=shared,
            created_at=BASE_TIME - 86_400 * 400,
            updated_at=BASE_TIME + 86_400 * 300,
        )

    def _new_key(self) -> str:
        self._next_key += 1
        return str(self._next_key)

    def _register(
        self, section: Section, item: dict[str, Any], parent: dict[str, Any] | None
    ) -> None:
        key = item["ratingKey"]
        self.by_key[key] = item
        self.section_of[key] = section.key
        item["librarySectionID"] = int(section.key)
        item["librarySectionTitle"] = section.title
        item["librarySectionKey"] = f"/library/sections/{section.key}"
        if parent is None:
            section.items.append(item)
        else:
            self.children_of.setdefault(parent["ratingKey"], []).append(item)

    def _images(self, key: str, updated: int) -> dict[str, str]:
        return {
            "thumb": f"/library/metadata/{key}/thumb/{updated}",
            "art": f"/library/metadata/{key}/art/{updated}",
        }

    def _title(self, number: int, special: bool) -> str:
        if special and number < len(_SPECIAL_TITLES):
            return _SPECIAL_TITLES[number]
        rng = self.rng
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        if rng.random() < 0.3:
            title = f"The {title}"
        if number >= len(_ADJECTIVES) * len(_NOUNS) // 4:
            # Big libraries: keep titles distinct enough to search, as sequels do.
            title = f"{title} {number // 100 + 2}"
        return title

    def _make_movies(self, section: Section, count: int, *, special: bool) -> None:
        rng = self.rng
        span = 86_400 * 300
        for number in range(count):
            key = self._new_key()
            added = BASE_TIME + int(span * (number + rng.random()) / max(count, 1))
            updated = added + rng.randint(0, 86_400)
            year = rng.randint(1954, 2025)
            title = self._title(number, special)
            genres = rng.sample(_GENRES, rng.randint(1, 3))
            item = self._movie(rng, section, key, title, year, genres, added, updated)
            if rng.random() < 0.25:
                # Once the global watch state; drawn still, so later titles and keys stay as
                # they were. Watch state is per account now (watch.py).
                rng.randint(1, 4)
                rng.randint(3_600, 86_400 * 30)
            self._register(section, item, None)

    def _movie(
        self,
        rng: random.Random,
        section: Section,
        key: str,
        title: str,
        year: int,
        genres: list[str],
        added: int,
        updated: int,
    ) -> dict[str, Any]:
        """A movie as Plex sends it; draws from `rng` in the order the library always has."""
        return {
            "ratingKey": key,
            "key": f"/library/metadata/{key}",
            "guid": f"plex://movie/{hashlib.md5(key.encode()).hexdigest()[:24]}",
            "studio": rng.choice(_STUDIOS),
            "type": "movie",
            "title": title,
            "titleSort": title_sort(title),
            "contentRating": rng.choice(_CONTENT_RATINGS),
            "summary": _summary(rng),
            "rating": round(rng.uniform(3.0, 9.8), 1),
            "audienceRating": round(rng.uniform(3.0, 9.8), 1),
            "year": year,
            "tagline": rng.choice(_SENTENCES),
            **self._images(key, updated),
            "duration": rng.randint(80, 170) * 60_000,
            "originallyAvailableAt": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(10, 28)}",
            "addedAt": added,
            "updatedAt": updated,
            "Media": [self._media(rng, key, uhd=section.key == UHD_SECTION)],
            "Genre": [{"tag": genre} for genre in genres],
            "Director": _people(rng, 1),
            "Writer": _people(rng, 2),
            "Country": [{"tag": rng.choice(("United States of America", "France", "Japan"))}],
            "Role": _people(rng, 4),
        }

    def _media(self, rng: random.Random, key: str, *, uhd: bool = False) -> dict[str, Any]:
        width, height, resolution = (3840, 2160, "4k") if uhd else (1920, 1080, "1080")
        return {
            "id": int(key) * 10,
            "duration": rng.randint(80, 170) * 60_000,
            "bitrate": rng.randint(4_000, 40_000),
            "width": width,
            "height": height,
            "aspectRatio": 1.78,
            "audioChannels": 6,
            "audioCodec": "eac3",
            "videoCodec": "hevc" if uhd else "h264",
            "videoResolution": resolution,
            "container": "mkv",
            "videoFrameRate": "24p",
            "Part": [
                {
                    "id": int(key) * 10 + 1,
                    "key": f"/library/parts/{int(key) * 10 + 1}/file.mkv",
                    "duration": rng.randint(80, 170) * 60_000,
                    "file": f"/data/media/{key}.mkv",
                    "size": rng.randint(1_000_000_000, 9_000_000_000),
                    "container": "mkv",
                }
            ],
        }

    def _make_shows(self, section: Section, count: int) -> None:
        rng = self.rng
        for number in range(count):
            show_key = self._new_key()
            added = BASE_TIME + 86_400 * rng.randint(0, 280)
            year = rng.randint(1995, 2024)
            title = self._title(number + 3, special=False)
            show: dict[str, Any] = {
                "ratingKey": show_key,
                "key": f"/library/metadata/{show_key}/children",
                "guid": f"plex://show/{hashlib.md5(show_key.encode()).hexdigest()[:24]}",
                "studio": rng.choice(_STUDIOS),
                "type": "show",
                "title": title,
                "titleSort": title_sort(title),
                "contentRating": rng.choice(_TV_RATINGS),
                "summary": _summary(rng),
                "index": 1,
                "rating": round(rng.uniform(5.0, 9.5), 1),
                "audienceRating": round(rng.uniform(5.0, 9.5), 1),
                "year": year,
                **self._images(show_key, added),
                "duration": 45 * 60_000,
                "originallyAvailableAt": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "addedAt": added,
                "updatedAt": added,
                "Genre": [{"tag": genre} for genre in rng.sample(_GENRES, 2)],
                "Role": _people(rng, 3),
            }
            aside = _aside(self.seed, show_key)
            show["tagline"] = aside.choice(_SENTENCES)
            show["Country"] = [{"tag": aside.choice(("United States of America", "France"))}]
            self._register(section, show, None)
            leaves = 0
            for season_number in range(1, rng.randint(1, 4) + 1):
                season_key = self._new_key()
                season: dict[str, Any] = {
                    "ratingKey": season_key,
                    "key": f"/library/metadata/{season_key}/children",
                    "parentRatingKey": show_key,
                    "guid": f"plex://season/{hashlib.md5(season_key.encode()).hexdigest()[:24]}",
                    "parentGuid": show["guid"],
                    "type": "season",
                    "title": f"Season {season_number}",
                    "parentKey": f"/library/metadata/{show_key}",
                    "parentTitle": title,
                    "summary": "",
                    "index": season_number,
                    "parentIndex": 1,
                    "year": year + season_number - 1,
                    **self._images(season_key, added),
                    "parentThumb": show["thumb"],
                    "addedAt": added,
                    "updatedAt": added,
                }
                self._register(section, season, show)
                episodes = rng.randint(3, 10)
                for episode_number in range(1, episodes + 1):
                    episode_key = self._new_key()
                    aired = added + 86_400 * 7 * (episode_number + 12 * season_number)
                    episode_title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
                    episode: dict[str, Any] = {
                        "ratingKey": episode_key,
                        "key": f"/library/metadata/{episode_key}",
                        "parentRatingKey": season_key,
                        "grandparentRatingKey": show_key,
                        "guid": f"plex://episode/{hashlib.md5(episode_key.encode()).hexdigest()[:24]}",
                        "parentGuid": season["guid"],
                        "grandparentGuid": show["guid"],
                        "type": "episode",
                        "title": episode_title,
                        "titleSort": title_sort(episode_title),
                        "grandparentKey": f"/library/metadata/{show_key}",
                        "parentKey": f"/library/metadata/{season_key}",
                        "grandparentTitle": title,
                        "parentTitle": f"Season {season_number}",
                        "contentRating": show["contentRating"],
                        "summary": _summary(rng),
                        "index": episode_number,
                        "parentIndex": season_number,
                        "rating": round(rng.uniform(5.0, 9.5), 1),
                        "year": season["year"],
                        **self._images(episode_key, aired),
                        "parentThumb": season["thumb"],
                        "grandparentThumb": show["thumb"],
                        "grandparentArt": show["art"],
                        "duration": rng.randint(22, 60) * 60_000,
                        "originallyAvailableAt": f"{season['year']}-0{rng.randint(1, 9)}-15",
                        # Added a season at a time after the show, as a library grows.
                        "addedAt": added + 86_400 * (10 * season_number + episode_number),
                        "updatedAt": aired,
                        "Media": [self._media(rng, episode_key)],
                    }
                    aside = _aside(self.seed, episode_key)
                    episode["audienceRating"] = round(aside.uniform(5.0, 9.5), 1)
                    episode["Director"] = _people(aside, 1)
                    episode["Writer"] = _people(aside, 1)
                    episode["Role"] = _people(aside, 2)  # guest stars
                    self._register(section, episode, season)
                # viewedLeafCount, viewCount and lastViewedAt are per account (watch.py).
                season["leafCount"] = episodes
                leaves += episodes
            show["childCount"] = season_number
            show["leafCount"] = leaves

    def _make_music(self, section: Section, count: int) -> None:
        rng = self.rng
        for _ in range(count):
            artist_key = self._new_key()
            added = BASE_TIME + 86_400 * rng.randint(0, 280)
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            artist: dict[str, Any] = {
                "ratingKey": artist_key,
                "key": f"/library/metadata/{artist_key}/children",
                "guid": f"plex://artist/{hashlib.md5(artist_key.encode()).hexdigest()[:24]}",
                "type": "artist",
                "title": name,
                "titleSort": title_sort(name),
                "summary": _summary(rng),
                "index": 1,
                **self._images(artist_key, added),
                "addedAt": added,
                "updatedAt": added,
                "Genre": [{"tag": rng.choice(("Jazz", "Rock", "Electronic", "Folk"))}],
            }
            self._register(section, artist, None)
            albums = rng.randint(1, 3)
            for album_number in range(1, albums + 1):
                album_key = self._new_key()
                album_title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
                year = rng.randint(1970, 2024)
                album: dict[str, Any] = {
                    "ratingKey": album_key,
                    "key": f"/library/metadata/{album_key}/children",
                    "parentRatingKey": artist_key,
                    "guid": f"plex://album/{hashlib.md5(album_key.encode()).hexdigest()[:24]}",
                    "parentGuid": artist["guid"],
                    "type": "album",
                    "title": album_title,
                    "titleSort": title_sort(album_title),
                    "parentKey": f"/library/metadata/{artist_key}",
                    "parentTitle": name,
                    "summary": "",
                    "index": album_number,
                    "year": year,
                    **self._images(album_key, added),
                    "parentThumb": artist["thumb"],
                    "originallyAvailableAt": f"{year}-05-01",
                    "addedAt": added + album_number,
                    "updatedAt": added + album_number,
                }
                self._register(section, album, artist)
                tracks = rng.randint(4, 10)
                for track_number in range(1, tracks + 1):
                    track_key = self._new_key()
                    track_title = f"{rng.choice(_NOUNS)} of {rng.choice(_NOUNS)}"
                    track: dict[str, Any] = {
                        "ratingKey": track_key,
                        "key": f"/library/metadata/{track_key}",
                        "parentRatingKey": album_key,
                        "grandparentRatingKey": artist_key,
                        "guid": f"plex://track/{hashlib.md5(track_key.encode()).hexdigest()[:24]}",
                        "type": "track",
                        "title": track_title,
                        "titleSort": title_sort(track_title),
                        "grandparentKey": f"/library/metadata/{artist_key}",
                        "parentKey": f"/library/metadata/{album_key}",
                        "grandparentTitle": name,
                        "parentTitle": album_title,
                        "summary": "",
                        "index": track_number,
                        "parentIndex": 1,
                        "year": year,
                        "thumb": album["thumb"],
                        "parentThumb": album["thumb"],
                        "grandparentThumb": artist["thumb"],
                        "duration": rng.randint(120, 420) * 1000,
                        "addedAt": album["addedAt"],
                        "updatedAt": album["addedAt"],
                    }
                    self._register(section, track, album)
                album["leafCount"] = tracks
            artist["childCount"] = albums

    def _make_collections(self) -> None:
        rng = self.rng
        plans = [
            (
                MOVIE_SECTION,
                ("Award Winners", "Family Night", "Midnight Movies", "Sequels & Prequels"),
            ),
            (UHD_SECTION, ("Reference Discs",)),
            (TV_SECTION, ("Binge-worthy",)),
        ]
        for section_key, titles in plans:
            section = self.sections[section_key]
            for title in titles:
                if not section.items:
                    continue
                key = self._new_key()
                members = rng.sample(section.items, min(len(section.items), rng.randint(3, 12)))
                members.sort(key=lambda item: item["titleSort"])
                updated = BASE_TIME + 86_400 * 250 + int(key)
                collection: dict[str, Any] = {
                    "ratingKey": key,
                    "key": f"/library/collections/{key}/children",
                    "guid": f"collection://{hashlib.md5(key.encode()).hexdigest()}",
                    "type": "collection",
                    "title": title,
                    "titleSort": title_sort(title),
                    "subtype": section.type,
                    "summary": f"A hand-picked set of {len(members)} titles.",
                    "index": len(section.collections) + 1,
                    # Real: a composite with a query string, or a custom poster (`thumb`).
                    "thumb": (
                        f"/library/collections/{key}/thumb/{updated}"
                        if _aside(self.seed, f"{key}:poster").random() < 0.4
                        else f"/library/collections/{key}/composite/{updated}?width=400&height=600"
                    ),
                    "art": members[0]["art"],
                    # A string in real collection JSON (Maintainerr, a real JSON client, models
                    # childCount/minYear/maxYear as strings; a show's childCount is an int).
                    "childCount": str(len(members)),
                    "minYear": str(min(m.get("year", 0) for m in members)),
                    "maxYear": str(max(m.get("year", 0) for m in members)),
                    "addedAt": updated,
                    "updatedAt": updated,
                }
                self.by_key[key] = collection
                self.section_of[key] = section.key
                collection["librarySectionID"] = int(section.key)
                collection["librarySectionTitle"] = section.title
                collection["librarySectionKey"] = f"/library/sections/{section.key}"
                section.collections.append(collection)
                self.collection_items[key] = members
                self.children_of[key] = members

    def _tag_everything(self) -> None:
        """Real tags carry `id` (one per value and tag kind, library-wide), `filter`
        (`genre=37`, `actor=5`...) and, for people, `tagKey` (a plex.tv id, the same person
        has the same one as actor and director) and, for actors, the `role` played."""
        values: set[tuple[str, str]] = set()
        for item in self.by_key.values():
            for array in TAG_FILTERS:
                for tag in item.get(array, ()):
                    values.add((array, tag["tag"]))
        next_id = 100
        for array in TAG_FILTERS:
            for _, value in sorted(v for v in values if v[0] == array):
                self.tags[(array, value)] = next_id
                next_id += 1
        for item in self.by_key.values():
            self._apply_tags(item, self.tags, self.tag_keys)
        # Collections are tags too (`collection=ID` filters); the tag id is the collection's
        # ratingKey here, and members carry `Collection[]` as real items do.
        for collection_key, members in self.collection_items.items():
            collection = self.by_key[collection_key]
            for member in members:
                member.setdefault("Collection", []).append(
                    {
                        "id": int(collection_key),
                        "filter": f"collection={collection_key}",
                        "tag": collection["title"],
                    }
                )

    def _apply_tags(
        self, item: dict[str, Any], tags: dict[tuple[str, str], int], tag_keys: dict[str, str]
    ) -> None:
        """An item's tags get their `id`, `filter`, `tagKey` and `role` (from `tags`)."""
        for array, filter_name in TAG_FILTERS.items():
            for tag in item.get(array, ()):
                tag_id = tags[(array, tag["tag"])]
                tag["id"] = tag_id
                tag["filter"] = f"{filter_name}={tag_id}"
                if array in PEOPLE:
                    digest = hashlib.md5(f"person:{tag['tag']}".encode()).hexdigest()
                    tag["tagKey"] = digest[:24]
                    tag_keys[tag["tag"]] = digest[:24]
                if array == "Role":
                    aside = _aside(self.seed, f"{item['ratingKey']}:{tag['tag']}")
                    tag["role"] = f"{aside.choice(_FIRST)} {aside.choice(_LAST)}"

    # -- queries ------------------------------------------------------------------------

    def visible_sections(self, owner: bool) -> list[Section]:
        return [s for s in self.sections.values() if owner or s.shared]

    def can_see(self, rating_key: str, owner: bool) -> bool:
        section = self.section_of.get(rating_key)
        return section is not None and (owner or self.sections[section].shared)

    def sorted_items(self, section: Section, level: int, sort: str) -> list[dict[str, Any]]:
        """Items of one type level in one section, sorted; memoised per (level, sort)."""
        cache_key = (level, sort)
        # The cache read once: a change swaps in a new one, and a sort begun before it must
        # land in the old one, never fill the new one with a stale list.
        cache = section._sorted
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
        items = self.items_at_level(section, level)
        field_name, _, direction = sort.partition(":")
        reverse = direction == "desc"
        if field_name in {"titleSort", "title"}:
            items = sorted(
                items, key=lambda i: (i.get("titleSort", ""), int(i["ratingKey"])), reverse=reverse
            )
        elif field_name in {
            "addedAt",
            "year",
            "rating",
            "originallyAvailableAt",
            "updatedAt",
            "audienceRating",
            "duration",
        }:
            items = sorted(
                items,
                key=lambda i: (i.get(field_name) or 0, i.get("titleSort", "")),
                reverse=reverse,
            )
        cache[cache_key] = items
        return items

    def items_at_level(self, section: Section, level: int) -> list[dict[str, Any]]:
        top = {"movie": 1, "show": 2, "artist": 8}[section.type]
        if level in {0, top}:
            return list(section.items)
        wanted = {3: "season", 4: "episode", 9: "album", 10: "track", 18: "collection"}.get(level)
        if wanted == "collection":
            return list(section.collections)
        return [
            item
            for key, item in self.by_key.items()
            if item["type"] == wanted and self.section_of.get(key) == section.key
        ]

    # -- changes (the control endpoints) -------------------------------------------------
    # Handler threads read these indexes without a lock. A change never edits a dict or list
    # a reader may hold: it builds the new one and swaps it in (copy on write), adding to the
    # lookups (tags, by_key, section_of) before the lists that lead to them, and removing from
    # the lists first. The caller (EmulatorState) serialises changes.

    def _remember(self) -> None:
        """The generated library's indexes, kept once for `restore` (copy on write never
        edits them)."""
        if self._original is None:
            self._original = (
                self.by_key,
                self.section_of,
                self.children_of,
                self.collection_items,
                self.tags,
                self.tag_keys,
                self.recent,
                {key: (s.items, s.collections) for key, s in self.sections.items()},
            )

    def changed(self) -> bool:
        return self._original is not None

    def add_movie(
        self, section_key: str, title: str, year: int | None = None, now: int | None = None
    ) -> dict[str, Any]:
        """A new movie in a movie section, as a scan adds it: a new ratingKey, added now,
        with images, Media and tags like the generated ones. KeyError for an unknown section,
        ValueError for one that holds no movies."""
        section = self.sections[section_key]
        if section.type != "movie":
            raise ValueError("only a movie section takes a movie")
        self._remember()
        key = self._new_key()
        rng = _aside(self.seed, f"{key}:added")
        now = int(time.time()) if now is None else now
        year = int(year) if year is not None else rng.randint(1954, 2025)
        genres = rng.sample(_GENRES, rng.randint(1, 3))
        item = self._movie(rng, section, key, title, year, genres, now, now)
        item["librarySectionID"] = int(section.key)
        item["librarySectionTitle"] = section.title
        item["librarySectionKey"] = f"/library/sections/{section.key}"
        tags, tag_keys = dict(self.tags), dict(self.tag_keys)
        next_id = max(tags.values(), default=99) + 1
        for array in TAG_FILTERS:
            for tag in item.get(array, ()):
                if (array, tag["tag"]) not in tags:
                    tags[(array, tag["tag"])] = next_id
                    next_id += 1
        self._apply_tags(item, tags, tag_keys)
        self.tags, self.tag_keys = tags, tag_keys
        self.section_of = {**self.section_of, key: section.key}
        self.by_key = {**self.by_key, key: item}
        section.items = [*section.items, item]
        section._sorted = {}
        self.recent = sorted(
            [*self.recent, item], key=lambda i: (-self.added_at(i), int(i["ratingKey"]))
        )
        return item

    def remove_item(self, rating_key: str) -> dict[str, Any]:
        """A movie gone from the library, its collections' members included. KeyError when
        unknown, ValueError for anything but a movie (shows, music: not supported)."""
        item = self.by_key[rating_key]
        if item["type"] != "movie":
            raise ValueError("only movies can be removed")
        self._remember()
        section = self.sections[self.section_of[rating_key]]
        section.items = [i for i in section.items if i["ratingKey"] != rating_key]
        section._sorted = {}
        self.recent = [i for i in self.recent if i["ratingKey"] != rating_key]
        by_key = dict(self.by_key)
        children_of = dict(self.children_of)
        collection_items = dict(self.collection_items)
        collections = []
        for collection in section.collections:
            members = collection_items.get(collection["ratingKey"], [])
            if any(m["ratingKey"] == rating_key for m in members):
                kept = [m for m in members if m["ratingKey"] != rating_key]
                collection = {**collection, "childCount": str(len(kept))}
                by_key[collection["ratingKey"]] = collection
                children_of[collection["ratingKey"]] = kept
                collection_items[collection["ratingKey"]] = kept
            collections.append(collection)
        section.collections = collections
        self.children_of, self.collection_items = children_of, collection_items
        del by_key[rating_key]
        self.by_key = by_key
        self.section_of = {k: v for k, v in self.section_of.items() if k != rating_key}
        return item

    def restore(self) -> None:
        """Back to the generated library (added items gone, removed ones back); ratingKeys
        handed out stay used, as on a real server."""
        original = self._original
        if original is None:
            return
        by_key, section_of, children_of, collection_items, tags, tag_keys, recent, lists = original
        # Lookups know both the old and the new items while the lists change.
        self.tags, self.tag_keys = {**self.tags, **tags}, {**self.tag_keys, **tag_keys}
        self.section_of = {**self.section_of, **section_of}
        self.by_key = {**self.by_key, **by_key}
        self.children_of, self.collection_items = children_of, collection_items
        for key, (items, collections) in lists.items():
            self.sections[key].items = items
            self.sections[key].collections = collections
            self.sections[key]._sorted = {}
        self.recent = recent
        self.section_of, self.by_key = section_of, by_key
        self.tags, self.tag_keys = tags, tag_keys
        self._original = None
