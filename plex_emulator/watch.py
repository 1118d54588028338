"""Watch state per account, as a real server keeps it per user.

The library's item dicts carry no watch state. Each account has an overlay instead:
ratingKey -> `{viewCount, viewOffset, lastViewedAt}` for movies, episodes and tracks (the
leaves), and per container (season, show, album, artist) the derived totals `(viewed leaves,
plays, last played)`, recounted from the container's own leaves when one of them changes. An
answer applies the requesting token's overlay to its items as it is rendered (`render`), so a
page costs a dict lookup per item, whatever the library's size.

Evidence: PLEX_API.md (watch state per token; scrobble, unscrobble, on deck, continue
watching); the real JSON samples (movies and episodes carry int `viewCount`, `lastViewedAt`,
`viewOffset` when set and nothing when unplayed; every show and season carries int
`leafCount` and `viewedLeafCount`, plus the sums `viewCount`/`lastViewedAt` once played;
xml/album.xml: albums the same); python-plexapi 4.18 (`markPlayed` is `GET /:/scrobble?key=
RATINGKEY&identifier=com.plexapp.plugins.library`, `updateTimeline` is `GET /:/timeline?
ratingKey=..&key=..&identifier=..&time=MS&state=..&duration=MS`, `updateProgress` is
`GET /:/progress?key=..&identifier=..&time=MS&state=..`); the public spec (PUT for scrobble
and unscrobble, POST for timeline; `key` or `uri`).

Seeded per account with `_aside(seed, "<ratingKey>:watch:<account>")`, never the library's
main generator: titles and keys stay as they were, and the owner and the friend differ.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from .library import Library, _aside

LEAF_TYPES = frozenset({"movie", "episode", "track"})
CONTAINER_TYPES = frozenset({"season", "show", "album", "artist"})
VIDEO_TYPES = frozenset({"movie", "episode"})
# Containers that carry leafCount/viewedLeafCount in real answers (artists do not here).
_COUNTED = frozenset({"season", "show", "album"})
WATCHED_FRACTION = 0.9  # a timeline past 90% of the duration marks the item played, as Plex
WATCH_KEYS = ("viewCount", "viewOffset", "lastViewedAt")
_URI_KEY = re.compile(r"/library/metadata/(\d+)")
_NONE: tuple[int, int, int] = (0, 0, 0)


def key_from_uri(uri: str) -> str | None:
    """`library://<uuid>/item/%2Flibrary%2Fmetadata%2F123` (the spec's `uri`): "123"."""
    from urllib.parse import unquote

    match = _URI_KEY.search(unquote(uri))
    return match.group(1) if match else None


class WatchState:
    """One account's plays: what its token sees as viewCount, viewOffset and lastViewedAt."""

    def __init__(self, library: Library, account: str, *, owner: bool) -> None:
        self.library = library
        self.account = account
        self.owner = owner
        self.items: dict[str, dict[str, int]] = {}  # leaf ratingKey -> its state, never empty
        self.totals: dict[str, tuple[int, int, int]] = {}  # container -> viewed, plays, last
        self.in_progress: set[str] = set()  # leaves with a viewOffset
        self._lock = threading.Lock()
        self._seed()
        self._recount(
            key for key, item in library.by_key.items() if item["type"] in CONTAINER_TYPES
        )
        self._seeded = (dict(self.items), dict(self.totals), set(self.in_progress))

    # -- seeding --------------------------------------------------------------------------

    def _seed(self) -> None:
        """Per movie: 20% played, 7% part-watched. Per show: 45% being watched (its first
        episodes played in order, then maybe the next one part-watched), 10% finished. Per
        track: 15% played. The rest unplayed."""
        library = self.library
        for section in library.visible_sections(self.owner):
            for top in section.items:
                key = top["ratingKey"]
                aside = _aside(library.seed, f"{key}:watch:{self.account}")
                if top["type"] == "movie":
                    draw = aside.random()
                    when = top["updatedAt"] + aside.randint(3_600, 86_400 * 60)
                    if draw < 0.2:
                        self._put(key, {"viewCount": aside.randint(1, 3), "lastViewedAt": when})
                    elif draw < 0.27:
                        offset = _offset(top["duration"], aside.uniform(0.1, 0.8))
                        self._put(key, {"viewOffset": offset, "lastViewedAt": when})
                elif top["type"] == "show":
                    self._seed_show(top, aside)
                elif top["type"] == "artist":
                    for track in self.leaves(key):
                        track_aside = _aside(
                            library.seed, f"{track['ratingKey']}:watch:{self.account}"
                        )
                        if track_aside.random() < 0.15:
                            when = track["addedAt"] + track_aside.randint(3_600, 86_400 * 90)
                            state = {"viewCount": track_aside.randint(1, 12), "lastViewedAt": when}
                            self._put(track["ratingKey"], state)

    def _seed_show(self, show: dict[str, Any], aside: Any) -> None:
        episodes = self.leaves(show["ratingKey"])
        draw = aside.random()
        if draw >= 0.55 or not episodes:
            return
        played = len(episodes) if draw >= 0.45 else aside.randint(1, max(1, len(episodes) - 1))
        when = show["addedAt"] + 86_400 * aside.randint(30, 200)
        for episode in episodes[:played]:
            when += aside.randint(3_600, 86_400 * 3)
            plays = 1 if aside.random() < 0.85 else 2
            self._put(episode["ratingKey"], {"viewCount": plays, "lastViewedAt": when})
        if played < len(episodes) and aside.random() < 0.5:
            following = episodes[played]
            offset = _offset(following["duration"], aside.uniform(0.1, 0.8))
            when += aside.randint(600, 86_400)
            self._put(following["ratingKey"], {"viewOffset": offset, "lastViewedAt": when})

    # -- the library's shape -------------------------------------------------------------

    def leaves(self, rating_key: str) -> list[dict[str, Any]]:
        """The movies, episodes or tracks an item stands for: itself, a season's or album's
        children, a show's or artist's grandchildren, a collection's members' leaves."""
        library = self.library
        item = library.by_key.get(rating_key)
        if item is None:
            return []
        kind = item["type"]
        if kind in LEAF_TYPES:
            return [item]
        children = library.children_of.get(rating_key, [])
        if kind in {"season", "album"}:
            return list(children)
        if kind in {"show", "artist"}:
            return [leaf for c in children for leaf in library.children_of.get(c["ratingKey"], [])]
        if kind == "collection":
            return [leaf for member in children for leaf in self.leaves(member["ratingKey"])]
        return []

    @staticmethod
    def _containers(leaves: list[dict[str, Any]]) -> set[str]:
        keys: set[str] = set()
        for leaf in leaves:
            for name in ("parentRatingKey", "grandparentRatingKey"):
                if name in leaf:
                    keys.add(leaf[name])
        return keys

    # -- reading ------------------------------------------------------------------------

    def get(self, rating_key: str) -> dict[str, int]:
        """What an item carries for this account: a leaf's `viewCount`, `viewOffset`,
        `lastViewedAt` (those set); a container's `leafCount`, `viewedLeafCount` and, once
        played, `viewCount` (plays of its leaves) and `lastViewedAt` (the latest)."""
        item = self.library.by_key.get(rating_key)
        if item is None:
            return {}
        if item["type"] in LEAF_TYPES:
            return dict(self.items.get(rating_key, {}))
        if item["type"] in CONTAINER_TYPES:
            viewed, plays, last = self.totals.get(rating_key, _NONE)
            state: dict[str, int] = {}
            if item["type"] in _COUNTED:
                state = {"leafCount": item.get("leafCount", 0), "viewedLeafCount": viewed}
            if plays:
                state.update(viewCount=plays, lastViewedAt=last)
            return state
        return {}

    def viewed(self, rating_key: str) -> int:
        return self.totals.get(rating_key, _NONE)[0]

    def last_viewed(self, rating_key: str) -> int:
        return self.totals.get(rating_key, _NONE)[2]

    def played(self, item: dict[str, Any]) -> bool:
        """Played, for a leaf; every leaf played, for a container."""
        if item["type"] in LEAF_TYPES:
            return "viewCount" in self.items.get(item["ratingKey"], {})
        if item["type"] in CONTAINER_TYPES:
            return self.viewed(item["ratingKey"]) >= item.get("leafCount", 0)
        return False

    def started(self, item: dict[str, Any]) -> bool:
        return "viewOffset" in self.items.get(item["ratingKey"], {})

    def entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """An item of an answer with this account's state: a copy when anything is added."""
        rating_key = entry.get("ratingKey")
        if rating_key is None:
            return entry  # "All episodes" and other pseudo-entries: set where they are built
        kind = entry.get("type")
        if kind in LEAF_TYPES:
            state = self.items.get(rating_key)
            return {**entry, **state} if state else entry
        if kind in CONTAINER_TYPES:
            viewed, plays, last = self.totals.get(rating_key, _NONE)
            copy = dict(entry)
            if kind in _COUNTED:
                copy["viewedLeafCount"] = viewed
            if plays:
                copy["viewCount"] = plays
                copy["lastViewedAt"] = last
            return copy
        return entry

    def render(self, document: dict[str, Any]) -> dict[str, Any]:
        """A whole answer with this account's state on every item: `Metadata[]`, each hub's
        `Metadata[]`, each search result's `Metadata`."""
        body = document.get("MediaContainer")
        if not isinstance(body, dict):
            return document
        changed: dict[str, Any] = {}
        if isinstance(body.get("Metadata"), list):
            changed["Metadata"] = [self.entry(e) for e in body["Metadata"]]
        if isinstance(body.get("Hub"), list):
            changed["Hub"] = [
                {**hub, "Metadata": [self.entry(e) for e in hub["Metadata"]]}
                if isinstance(hub.get("Metadata"), list)
                else hub
                for hub in body["Hub"]
            ]
        if isinstance(body.get("SearchResult"), list):
            changed["SearchResult"] = [
                {**result, "Metadata": self.entry(result["Metadata"])}
                if isinstance(result.get("Metadata"), dict)
                else result
                for result in body["SearchResult"]
            ]
        if not changed:
            return document
        return {**document, "MediaContainer": {**body, **changed}}

    def snapshot(
        self,
    ) -> tuple[dict[str, dict[str, int]], set[str], dict[str, tuple[int, int, int]]]:
        """Leaf states, in-progress keys and container totals, consistent (for on deck)."""
        with self._lock:
            return dict(self.items), set(self.in_progress), dict(self.totals)

    # -- changing -----------------------------------------------------------------------

    def scrobble(self, rating_key: str, now: int | None = None) -> None:
        """Played: every leaf's viewCount + 1, lastViewedAt now, viewOffset gone."""
        now = int(time.time()) if now is None else now
        leaves = self.leaves(rating_key)
        with self._lock:
            for leaf in leaves:
                key = leaf["ratingKey"]
                plays = self.items.get(key, {}).get("viewCount", 0) + 1
                self._put(key, {"viewCount": plays, "lastViewedAt": now})
            self._recount(self._containers(leaves))

    def unscrobble(self, rating_key: str) -> None:
        """Unplayed: viewCount, viewOffset and lastViewedAt gone from every leaf."""
        leaves = self.leaves(rating_key)
        with self._lock:
            for leaf in leaves:
                self._put(leaf["ratingKey"], {})
            self._recount(self._containers(leaves))

    def progress(
        self, rating_key: str, offset: int, duration: int | None = None, now: int | None = None
    ) -> None:
        """A player's report: at `offset` ms. Past 90% of the duration the item is played
        (scrobbled); 0 changes nothing (python-plexapi: "setting the time to 0 will not
        work"); otherwise viewOffset is set, viewCount kept."""
        item = self.library.by_key[rating_key]
        length = duration or item.get("duration") or 0
        if offset <= 0:
            return
        if length and offset >= length * WATCHED_FRACTION:
            self.scrobble(rating_key, now)
            return
        now = int(time.time()) if now is None else now
        with self._lock:
            state = dict(self.items.get(rating_key, {}))
            state.update(viewOffset=int(offset), lastViewedAt=now)
            self._put(rating_key, state)
            self._recount(self._containers([item]))

    def forget(self, rating_key: str) -> None:
        """An item gone from the library: its state gone too (the seeded one is kept, for
        when the library is restored)."""
        with self._lock:
            self._put(rating_key, {})

    def reset(self) -> None:
        """Back to the seeded state."""
        items, totals, in_progress = self._seeded
        with self._lock:
            self.items = dict(items)
            self.totals = dict(totals)
            self.in_progress = set(in_progress)

    def _put(self, key: str, state: dict[str, int]) -> None:
        if state:
            self.items[key] = state
        else:
            self.items.pop(key, None)
        if "viewOffset" in state:
            self.in_progress.add(key)
        else:
            self.in_progress.discard(key)

    def _recount(self, keys: Any) -> None:
        for key in keys:
            viewed = plays = last = 0
            for leaf in self.leaves(key):
                state = self.items.get(leaf["ratingKey"])
                if state and "viewCount" in state:
                    viewed += 1
                    plays += state["viewCount"]
                    last = max(last, state["lastViewedAt"])
            if viewed:
                self.totals[key] = (viewed, plays, last)
            else:
                self.totals.pop(key, None)


def _offset(duration: int, fraction: float) -> int:
    return int(duration * fraction) // 1000 * 1000
