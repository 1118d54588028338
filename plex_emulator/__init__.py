"""A Plex Media Server emulator: the real API over real sockets, for the demo, tests and benchmarks.

No Django here. `Emulator(...).start()` serves in a background thread of this process;
`python -m plex_emulator` serves in the foreground. See library.py for what it holds,
server.py for what it answers, plextv.py for the plex.tv sign-in it also plays and
connections.py for the connections plex.tv publishes (a dead one, an impostor, the live one).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from .connections import IMPOSTOR_NAME, IMPOSTOR_SEED_OFFSET, PublishedConnections
from .library import Library
from .plextv import PlexAccount, PlexTV
from .server import EmulatorHTTPServer, EmulatorState, Fault

__all__ = ["Emulator", "Fault", "Library", "PlexAccount"]

DEFAULT_VERSION = "1.43.2.10687-563d026ea"


class Emulator:
    """A Plex Media Server with an owner and a friend, on `host:port` (0 picks a free port),
    and plex.tv with their accounts and a stranger's, on the same port.

    Once started, plex.tv lists three connections for the server (connections.py), none of
    them the main port: a dead one, an impostor and the live one (`connections()`,
    `live_url`, `move_connection()`)."""

    def __init__(
        self,
        owner_token: str = "owner-token-0123456789",
        friend_token: str = "friend-token-0123456789",
        *,
        movies: int = 120,
        shows: int = 12,
        seed: int = 42,
        host: str = "127.0.0.1",
        port: int = 0,
        friendly_name: str = "MediaNest Emulator",
        version: str = DEFAULT_VERSION,
        stranger_token: str | None = None,
        pin_ttl: int = 1800,
    ) -> None:
        self.owner_token = owner_token
        self.friend_token = friend_token
        self.friendly_name = friendly_name
        self.version = version
        self.host = host
        self.port = port
        self.library = Library(movies=movies, shows=shows, seed=seed)
        self.plex_tv = PlexTV(
            owner_token=owner_token,
            friend_token=friend_token,
            stranger_token=stranger_token,
            machine_identifier=self.library.machine_identifier,
            friendly_name=friendly_name,
            version=version,
            pin_ttl=pin_ttl,
        )
        self.accounts: dict[str, PlexAccount] = self.plex_tv.accounts
        self.state = EmulatorState(
            self.library,
            owner_token=owner_token,
            friend_token=friend_token,
            friendly_name=friendly_name,
            version=version,
            plex_tv=self.plex_tv,
        )
        # Another server at a published address: the same tokens, its own identity, library
        # and statistics. Built here with the rest, so start() only binds ports.
        self.impostor_state = EmulatorState(
            Library(movies=movies, shows=shows, seed=seed + IMPOSTOR_SEED_OFFSET),
            owner_token=owner_token,
            friend_token=friend_token,
            friendly_name=IMPOSTOR_NAME,
            version=version,
        )
        self.published = PublishedConnections(self.state, self.impostor_state, host)
        self.state.published = self.published
        self.plex_tv.published = self.published.listed
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def machine_identifier(self) -> str:
        return self.library.machine_identifier

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        self._server = EmulatorHTTPServer((self.host, self.port), self.state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"plex-emulator-{self.port}",
        )
        self._thread.start()
        try:
            self.published.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Every port closed: the main one, and the dead, impostor and live ones."""
        self.published.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the control endpoints, in process ------------------------------------------------

    def set_fault(
        self, mode: str = "ok", delay_ms: int = 0, status: int = 503, path_prefix: str = ""
    ) -> None:
        self.state.set_fault(mode, delay_ms, status, path_prefix)

    def clear_fault(self) -> None:
        self.state.set_fault("ok")

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def reset_stats(self) -> None:
        """The server's counters, and the impostor's and the dead port's, back to zero."""
        self.state.reset_stats()
        self.published.reset_stats()

    # -- the connections plex.tv publishes (connections.py) -----------------------------

    def connections(self) -> list[dict[str, Any]]:
        """What plex.tv lists now for this server (dead, impostor, live; copies); [] before
        start(), when plex.tv lists the address it was asked at instead."""
        return self.published.listed()

    @property
    def live_url(self) -> str:
        """The published connection that reaches this server (not `url`, the main port)."""
        return self.published.live_url

    @property
    def dead_url(self) -> str:
        """The published connection that accepts and never answers."""
        return self.published.dead_url

    @property
    def impostor_url(self) -> str:
        """The published connection where another server answers to the same tokens."""
        return self.published.impostor_url

    @property
    def impostor_identifier(self) -> str:
        return self.impostor_state.library.machine_identifier

    def move_connection(self) -> str:
        """The live connection moves (as `POST /__emulator__/connections/move`): its port
        refuses from now on, and its open connections end; plex.tv lists a new port of the
        same server instead. The new URL."""
        return self.published.move()

    def reset_connections(self) -> str:
        """Back to the start (as `POST /__emulator__/connections/reset`): the live connection
        on its first port (a fresh one if that is taken), the impostor's statistics, watch
        state and library, and the dead port's counter. Nothing to rebind unless it moved.
        The live URL."""
        return self.published.reset()

    def impostor_stats(self) -> dict[str, Any]:
        """The impostor's own counters, shaped as stats() (`requests`, `by_path`...), plus
        `with_token`: how many of its requests carried a token. `by_path` holding only
        "/identity" and `with_token` 0: it was checked, never browsed. Zeroed by reset_stats()
        and reset_connections()."""
        return self.published.impostor_stats()

    def dead_stats(self) -> dict[str, int]:
        """`accepted`: connections the dead port accepted since the last reset; `open`: those
        it holds now."""
        return self.published.dead_stats()

    # -- watch state, per account ("owner", "friend"), as its token sees it ---------------

    def watch_state(self, account: str, rating_key: str) -> dict[str, int]:
        """What `account`'s token sees of an item's watch state: for a movie, episode or
        track the `viewCount`, `viewOffset`, `lastViewedAt` that are set ({} when unplayed);
        for a season, show or album `leafCount`, `viewedLeafCount` and, once played,
        `viewCount`/`lastViewedAt`. Read from the emulator, not through HTTP."""
        return self.state.watch(account).get(rating_key)

    def watched_keys(self, account: str) -> dict[str, dict[str, int]]:
        """Every movie, episode and track `account` has played or started: ratingKey ->
        its state (a copy), to compute what an answer must hold."""
        states, _, _ = self.state.watch(account).snapshot()
        return {key: dict(state) for key, state in states.items()}

    def reset_watch(self, account: str | None = None) -> None:
        """Watch state back to the seeded one (one account, or all): tests that scrobble
        share one emulator for the whole run."""
        self.state.reset_watch(account)

    # -- the library changing, and the owner's notification streams (events.py) -----------

    def add_movie(self, section: str, title: str, year: int | None = None) -> str:
        """A movie added to a movie section (as `POST /__emulator__/library/items`): its new
        ratingKey. The owner's streams get the scan's activity, timeline and status messages.
        KeyError: unknown section; ValueError: not a movie section."""
        return self.state.add_movie(section, title, year)

    def remove_item(self, rating_key: str) -> None:
        """A movie removed everywhere (as `DELETE /__emulator__/library/items/KEY`); the
        owner's streams get timeline state 9. KeyError: unknown; ValueError: not a movie."""
        self.state.remove_item(rating_key)

    def reset_library(self) -> None:
        """The generated library back: what tests added gone, what they removed back."""
        self.state.reset_library()

    def play(
        self, account: str, rating_key: str, view_offset: int, state: str = "playing"
    ) -> dict[str, Any]:
        """`account`'s player reports `state` at `view_offset` ms (as `POST
        /__emulator__/play`): its watch state changes as a /:/timeline report would, and the
        owner's streams get a `playing` notification, which is returned."""
        return self.state.play(account, rating_key, view_offset, state)

    def events_connected(self) -> int:
        """How many notification streams (WebSocket and EventSource) are open."""
        return self.state.events.connected()

    def drop_events(self) -> int:
        """Drop every open notification stream (as `POST /__emulator__/events/drop`)."""
        return self.state.events.drop_all()

    def add_account(self, account: str, token: str, *, owner: bool = False) -> None:
        """Another token the server accepts (a second friend...), with its own watch state.
        It sees what the friend sees (or everything, as an owner)."""
        self.state.add_account(account, token, owner=owner)
        # The impostor takes every token this server takes: only its identity differs.
        self.impostor_state.add_account(account, token, owner=owner)


def control(url: str, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a control endpoint of an emulator in another process (benchmarks, subprocess tests)."""
    data = json.dumps(payload).encode() if payload is not None else None
    method = "GET" if action in {"stats", "connections"} and payload is None else "POST"
    request = urllib.request.Request(
        f"{url}/__emulator__/{action}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
