"""How long a cached Plex answer stays true, and what ends it early.

Every cached answer's key ends in a stamp (`@w3.s12.l40.live-9f2c`), read in one round trip to
the cache per request:

- `w`: the user's watch generation. Their own marks move it on: all their answers that hold
  watch state are asked anew, nobody else's.
- `s`: the section's generation, for answers about one library (its pages, filters,
  collections). The event listener moves it on when Plex says something in that section was
  added, changed, removed or played.
- `i`: an item's generation, for its details and its children (a season's episodes): moved
  on when that item, or one of its children, changes or is played.
- `c`: continue watching's, moved on by any change or play.
- `l`: the generation of what lists across sections (recently added, search): moved on when
  an item is added, removed or changed, not when one is played.
- the listener's session while it is connected and vouching for the cache, else `off`. While
  it is live, answers it keeps true may live `PLEX_CACHE_TTL_LIVE`; when it goes (a clean stop
  deletes its status, a dead one's status expires within `STATUS_TTL`), every key stamped with
  its session is out of reach at once, and the seed's TTLs apply again.

The last good copy of an answer is the same key whatever its stamp (plex/cache.py): an outage
after a change still has something to show.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from plex.cache import PlexCache

# The listener writes its status every HEARTBEAT seconds; it expires after STATUS_TTL, so a
# listener that died without a word stops vouching within that long.
HEARTBEAT = 2.0
STATUS_TTL = 6

Scope = Literal["none", "section", "item", "library", "continue"]
EventsState = Literal["live", "reconnecting", "off"]


def _prefix(server: str) -> str:
    return f"plex:v1:{server}"


def status_key(server: str) -> str:
    return f"{_prefix(server)}:events:status"


def section_key(server: str, section: str) -> str:
    return f"{_prefix(server)}:gen:section:{section}"


def library_key(server: str) -> str:
    return f"{_prefix(server)}:gen:library"


def item_key(server: str, rating_key: str) -> str:
    return f"{_prefix(server)}:gen:item:{rating_key}"


def continue_key(server: str) -> str:
    return f"{_prefix(server)}:gen:continue"


def watch_key(server: str, access: str) -> str:
    return f"{_prefix(server)}:{access}:watch-generation"


@dataclass(frozen=True, slots=True)
class EventsStatus:
    """What the listener last said: `live` (connected), `reconnecting`, or `off` (no listener,
    or one that stopped saying anything); seconds since Plex's last event, if any."""

    state: EventsState
    session: str = ""
    last_event_age: float | None = None

    @classmethod
    def read(cls, value: Any, now: float | None = None) -> EventsStatus:
        if not isinstance(value, dict) or value.get("state") not in ("live", "reconnecting"):
            return cls("off")
        last = value.get("last_event_at")
        now = time.time() if now is None else now
        age = max(0.0, now - last) if isinstance(last, int | float) else None
        return cls(value["state"], str(value.get("session") or ""), age)


@dataclass(frozen=True, slots=True)
class Stamp:
    """The part of a key that makes it out of date, and whether the listener vouches for it."""

    text: str
    live: bool


class Freshness:
    """The generations and the listener's status of one server, through the cache's guard
    (Redis down: generation 0 and `off`, which is what the seed's TTLs assume)."""

    def __init__(self, cache: PlexCache, server: str) -> None:
        self.cache = cache
        self.server = server

    def stamp(self, scope: Scope, *, access: str = "", subject: str = "") -> Stamp:
        """One round trip: the counters `scope` depends on and the listener's status.
        `subject` is the section's key for "section", the item's rating key for "item"."""
        return self.stamp_and_read(scope, "", access=access, subject=subject)[0]

    def stamp_and_read(
        self, scope: Scope, answer: str, *, access: str = "", subject: str = ""
    ) -> tuple[Stamp, tuple[Any, bool]]:
        """The stamp, and in the same round trip the value kept at `answer` (a cached answer's
        key) with whether the cache answered: a warm read is then one round trip, not two."""
        status = status_key(self.server)
        counters = []
        if scope != "none":
            counters = [
                ("w", watch_key(self.server, access)),
                (scope[0], self._key(scope, subject)),
            ]
        keys = [status, *(key for _, key in counters), *([answer] if answer else [])]
        found, cache_ok = self.cache.read(keys)
        events = EventsStatus.read(found.get(status))
        live = events.state == "live"
        parts = [f"{letter}{_number(found.get(key))}" for letter, key in counters]
        parts.append(f"live-{events.session}" if live else "off")
        return Stamp(".".join(parts), live), (found.get(answer), cache_ok)

    def status(self) -> EventsStatus:
        return EventsStatus.read(
            self.cache.read_many([status_key(self.server)]).get(status_key(self.server))
        )

    def _key(self, scope: Scope, subject: str) -> str:
        if scope == "section":
            return section_key(self.server, subject)
        if scope == "item":
            return item_key(self.server, subject)
        if scope == "continue":
            return continue_key(self.server)
        return library_key(self.server)

    # -- what the listener says -------------------------------------------------------------

    def changed(self, section: str | None, items: Iterable[str] = (), *, listed: bool) -> None:
        """Plex said something changed: `items` (their details and children), their section's
        pages and filters, continue watching, and, when `listed` (an item added, removed or
        renamed, not just played), what lists across sections: recently added, search."""
        for rating_key in items:
            self.cache.advance(item_key(self.server, rating_key))
        if section:
            self.cache.advance(section_key(self.server, section))
        self.cache.advance(continue_key(self.server))
        if listed:
            self.cache.advance(library_key(self.server))

    def report(self, state: EventsState, session: str, last_event_at: float | None) -> None:
        """The listener's heartbeat; `off` deletes it (a clean stop ends its vouching now)."""
        if state == "off":
            self.cache.drop(status_key(self.server))
            return
        value = {"state": state, "session": session, "last_event_at": last_event_at}
        self.cache.put(status_key(self.server), value, timeout=STATUS_TTL)


def _number(value: Any) -> int:
    return value if isinstance(value, int) else 0
