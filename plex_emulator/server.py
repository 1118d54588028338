"""The emulator's HTTP server: routing, access per token, paging, faults and statistics."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import select
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from . import browse, events, hubs, images, plextv
from .library import Library, Section
from .render import container, html_body, to_json, to_xml
from .watch import LEAF_TYPES, WatchState, key_from_uri


class Published(Protocol):
    """What the control endpoints ask of the published connections (connections.py, which
    builds on this module: named here by shape, not imported)."""

    @property
    def live_url(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...

    def move(self) -> str: ...

    def reset(self) -> str: ...


logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/__emulator__/"
FAULT_MODES = ("ok", "latency", "hold", "status", "reset", "malformed")
HOLD_MAX_SECONDS = 60.0  # a held request is answered after this long even if nobody lets go
SORT_FIELDS = {
    "titleSort",
    "title",
    "addedAt",
    "year",
    "rating",
    "audienceRating",
    "originallyAvailableAt",
    "updatedAt",
    "duration",
}
_LEVEL_TYPES = browse.LEVEL_TYPES
# Owner-only endpoints: a shared user's token gets 403 there (PLEX_API.md "More real-server
# facts": /accounts; python-plexapi's PlexServer.library falls back to /library/sections when
# /library is refused to a non-owner). /status/sessions, /butler and /:/prefs are the server
# admin's in Plex Web and the spec; refusing them to a friend is the emulator's assumption.
_OWNER_ONLY = ("/accounts", "/library", "/status/sessions", "/butler", "/:/prefs")
_LIBRARY = {"identifier": "com.plexapp.plugins.library"}
_ACCOUNT_DEFAULTS = {
    "defaultAudioLanguage": "en",
    "autoSelectAudio": True,
    "defaultSubtitleLanguage": "en",
    "subtitleMode": 1,
    "thumb": "",
}
# Watch state (watch.py): the spec's verbs (PUT, POST for the timeline) and GET, which real
# servers answer too and python-plexapi sends.
_WATCH_PATHS = {"/:/scrobble", "/:/unscrobble", "/:/timeline", "/:/progress"}
_IMAGE_PATH = re.compile(
    r"^/library/(?:metadata|collections)/(\d+)/(thumb|art|composite)(?:/\d+)?$"
)


class HttpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Fault:
    mode: str = "ok"
    delay_ms: int = 0
    status: int = 503
    path_prefix: str = ""


_fold = browse.fold


class EmulatorState:
    """What the handler threads share: the library, tokens, the fault and the counters."""

    def __init__(
        self,
        library: Library,
        *,
        owner_token: str,
        friend_token: str,
        friendly_name: str,
        version: str,
        plex_tv: plextv.PlexTV | None = None,
    ) -> None:
        self.library = library
        self.plex_tv = plex_tv  # None: a bare Plex Media Server, plex.tv paths answer 404
        self.owner_token = owner_token
        self.friend_token = friend_token
        # Token -> (account, owner?); each account has its own watch state (watch.py), made
        # on first use. add_account() adds another friend or owner.
        self.tokens: dict[str, tuple[str, bool]] = {
            owner_token: ("owner", True),
            friend_token: ("friend", False),
        }
        self._watch: dict[str, WatchState] = {}
        self._watch_lock = threading.Lock()
        self.friendly_name = friendly_name
        self.version = version
        self.fault = Fault()
        self.released = threading.Event()  # set while no "hold" fault keeps requests waiting
        self.released.set()
        self._lock = threading.Lock()
        self.requests = 0
        self.connections = 0
        self.by_path: Counter[str] = Counter()
        # Requests that carried a token (X-Plex-Token, header or query): not in stats(), whose
        # shape tests pin; read for the impostor, where any token sent is a leak.
        self.with_token = 0
        # Requests being handled now, and the most at once since the last reset: what a
        # limit on the app's side must keep down (control requests never count).
        self.in_flight = 0
        self.in_flight_max = 0
        self._search_index = self._build_search_index()
        # The owner's notification streams (events.py), library changes on command (one at a
        # time) and the play sessions the `playing` notifications name.
        self.events = events.EventHub()
        self.heartbeat = 5.0  # seconds between the EventSource's keepalive comments
        self._change_lock = threading.Lock()
        self._sessions: dict[tuple[str, str], tuple[str, int]] = {}
        self._next_session = 0
        # The connections plex.tv publishes for this server (connections.py), for the
        # /__emulator__/connections control endpoints; None when nothing is published.
        self.published: Published | None = None

    def _build_search_index(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (_fold(item["title"]), item)
            for item in self.library.by_key.values()
            if item["type"] in {t for t, _ in hubs.MEDIA_HUBS}
        ]

    # -- library changes and notifications (the control endpoints) ---------------------------

    def add_movie(self, section_key: str, title: str, year: int | None = None) -> str:
        """A movie added to a movie section, announced to the owner's streams as a scan
        finding it. KeyError: unknown section; ValueError: not a movie section."""
        with self._change_lock:
            item = self.library.add_movie(section_key, title, year)
            self._search_index = [*self._search_index, (_fold(item["title"]), item)]
            self._announce(section_key, item, added=True)
        return str(item["ratingKey"])

    def remove_item(self, rating_key: str) -> None:
        """A movie removed everywhere (and from every account's watch state), announced as
        deleted. KeyError: unknown; ValueError: not a movie."""
        with self._change_lock:
            section_key = self.library.section_of.get(rating_key, "")
            item = self.library.remove_item(rating_key)
            self._search_index = self._build_search_index()
            for watch in list(self._watch.values()):
                watch.forget(rating_key)
            self._announce(section_key, item, added=False)

    def reset_library(self) -> None:
        """The generated library back (no notification: a test's clean-up, not a scan)."""
        with self._change_lock:
            if self.library.changed():
                self.library.restore()
                self._search_index = self._build_search_index()

    def _announce(self, section_key: str, item: dict[str, Any], *, added: bool) -> None:
        """What a real server's scan emits: the section's `library.update.section` activity
        starts; the item's timeline entries (added: state 0 "created", 3 "loading", 4
        "processing", 5 done with no metadataState; removed: state 9 "deleted"); the activity
        ends; a "Library scan complete" status."""
        section = self.library.sections[section_key]
        now = int(time.time())
        activity_id = str(uuid.uuid4())
        activity = {
            "uuid": activity_id,
            "type": "library.update.section",
            "cancellable": False,
            "userID": 1,
            "title": f"Scanning {section.title}",
            "subtitle": "",
            "progress": 0,
            "Context": {"librarySectionID": section.key},
        }
        self.events.publish(
            "activity", [{"event": "started", "uuid": activity_id, "Activity": activity}]
        )
        steps = [(0, "created"), (3, "loading"), (4, "processing"), (5, None)]
        for state, metadata_state in steps if added else [(9, "deleted")]:
            entry: dict[str, Any] = {
                "identifier": events.LIBRARY_IDENTIFIER,
                "sectionID": section.key,
                "itemID": str(item["ratingKey"]),
                "type": events.TYPE_IDS[item["type"]],
                "title": item["title"],
                "state": state,
                "updatedAt": now,
            }
            if metadata_state is not None:
                entry["metadataState"] = metadata_state
            self.events.publish("timeline", [entry])
        ended = {**activity, "progress": 100}
        self.events.publish(
            "activity", [{"event": "ended", "uuid": activity_id, "Activity": ended}]
        )
        self.events.publish(
            "status",
            [
                {
                    "title": "Library scan complete",
                    "description": section.title,
                    "notificationName": "LIBRARY_UPDATE",
                }
            ],
        )

    def play(
        self, account: str, rating_key: str, view_offset: int, state: str = "playing"
    ) -> dict[str, Any]:
        """A player of `account` reports `state` at `view_offset` ms, as /:/timeline would:
        that account's watch state changes (watch.py), and the owner's streams get a
        `playing` notification (the owner sees every user's playback). KeyError: unknown
        account or an item the account cannot see; ValueError: not playable, bad state."""
        if state not in {"playing", "paused", "stopped"}:
            raise ValueError("state must be playing, paused or stopped")
        owner = next((o for name, o in self.tokens.values() if name == account), None)
        if owner is None:
            raise KeyError(account)
        item = self.library.by_key.get(rating_key)
        if item is None or not self.library.can_see(rating_key, owner):
            raise KeyError(rating_key)
        if item["type"] not in LEAF_TYPES:
            raise ValueError("only a movie, episode or track plays")
        self.watch(account).progress(rating_key, int(view_offset))
        with self._change_lock:
            session = self._sessions.get((account, rating_key))
            if session is None:
                self._next_session += 1
                session = (str(self._next_session), self._next_session)
            if state == "stopped":
                self._sessions.pop((account, rating_key), None)  # the session ends
            else:
                self._sessions[(account, rating_key)] = session
        notification = {
            "sessionKey": session[0],
            "clientIdentifier": f"medianest-emulator-player-{account}",
            "guid": "",
            "ratingKey": rating_key,
            "url": "",
            "key": f"/library/metadata/{rating_key}",
            "viewOffset": int(view_offset),
            "playQueueItemID": session[1],
            "state": state,
        }
        self.events.publish("playing", [notification])
        return notification

    def add_account(self, account: str, token: str, *, owner: bool = False) -> None:
        """Another token the server accepts, with watch state of its own (seeded by name)."""
        self.tokens[token] = (account, owner)

    def watch(self, account: str) -> WatchState:
        """An account's watch state ("owner", "friend"...), seeded on first use."""
        state = self._watch.get(account)
        if state is not None:
            return state
        owner = next((o for name, o in self.tokens.values() if name == account), None)
        if owner is None:
            raise KeyError(account)
        with self._watch_lock:
            if account not in self._watch:
                self._watch[account] = WatchState(self.library, account, owner=owner)
            return self._watch[account]

    def reset_watch(self, account: str | None = None) -> None:
        """Watch state back to the seeded one, for one account or all."""
        for name, state in list(self._watch.items()):
            if account is None or name == account:
                state.reset()

    def count(self, path: str, new_connection: bool, with_token: bool = False) -> None:
        """A request begins; `done()` when it has been handled."""
        with self._lock:
            self.requests += 1
            self.with_token += with_token
            self.by_path[path] += 1
            if new_connection:
                self.connections += 1
            self.in_flight += 1
            self.in_flight_max = max(self.in_flight_max, self.in_flight)

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "by_path": dict(self.by_path),
                "connections": self.connections,
                "in_flight": self.in_flight,
                "in_flight_max": self.in_flight_max,
            }

    def token_requests(self) -> int:
        """Requests since the last reset that carried a token (control requests aside)."""
        with self._lock:
            return self.with_token

    def reset_stats(self) -> None:
        with self._lock:
            self.requests = 0
            self.connections = 0
            self.with_token = 0
            self.by_path.clear()
            # Requests still being handled are in flight after the reset too.
            self.in_flight_max = self.in_flight

    def set_fault(
        self, mode: str = "ok", delay_ms: int = 0, status: int = 503, path_prefix: str = ""
    ) -> Fault:
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        if not 100 <= int(status) <= 599:
            raise ValueError("status must be an HTTP status")
        self.fault = Fault(mode, max(0, int(delay_ms)), int(status), str(path_prefix or ""))
        # "hold": requests wait until the fault changes, however long the test takes, with no
        # clock involved; every other mode lets held requests go.
        if mode == "hold":
            self.released.clear()
        else:
            self.released.set()
        return self.fault

    def search(self, query: str) -> list[tuple[float, dict[str, Any]]]:
        needle = _fold(query.strip())
        found = []
        for folded, item in self._search_index:
            score = hubs.title_score(folded, needle)
            if score is not None:
                found.append((score, item))
        # Seasons carry no titleSort on real servers either.
        found.sort(
            key=lambda pair: (
                -pair[0],
                pair[1].get("titleSort") or pair[1]["title"].lower(),
                int(pair[1]["ratingKey"]),
            )
        )
        return found


class PlexHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Plex
    # Headers and body go out in two writes; with Nagle on, a keep-alive connection would
    # wait for the client's delayed ACK (about 40 ms) before sending the body.
    disable_nagle_algorithm = True
    server_version = "PlexMediaServer/1.43.2"
    sys_version = ""
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self._counted = False  # a connection counts once it carries a non-control request

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the demo read their own output

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ---------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path or "/"
        self._pairs = parse_qsl(parts.query, keep_blank_values=True)  # repeated filters: AND
        query = dict(self._pairs)
        state = self.server.state
        self._watch: WatchState | None = None  # the requesting account's, once the token is known
        if path.startswith(CONTROL_PREFIX) and self.server.main:
            self._control(method, path)
            return
        state.count(path, new_connection=not self._counted, with_token=bool(self._token(query)))
        self._counted = True
        try:
            self._handle(method, path, query)
        finally:
            state.done()

    def _handle(self, method: str, path: str, query: dict[str, str]) -> None:
        """A Plex (or plex.tv) request, from its fault (a held or slow one is in flight all
        along) to the answer; a notification stream is in flight while it is open."""
        state = self.server.state
        fault = state.fault
        if fault.mode != "ok" and path.startswith(fault.path_prefix or "/"):
            if fault.mode == "latency":
                time.sleep(fault.delay_ms / 1000)
            elif fault.mode == "hold":
                state.released.wait(HOLD_MAX_SECONDS)
            elif fault.mode == "status":
                self._send(fault.status, html_body(fault.status), "text/html")
                return
            elif fault.mode == "reset":
                self._reset()
                return
        if state.plex_tv is not None and self.server.main and plextv.handles(path):
            # plex.tv shares the port (one URL to configure), after the fault: it fails alike.
            host, port = self.server.server_address[:2]
            status, body, content_type, headers = state.plex_tv.handle(
                method, path, query, self.headers, self._read_body(), (str(host), int(port))
            )
            if fault.mode == "malformed" and path.startswith(fault.path_prefix or "/") and body:
                body = body[: max(1, len(body) // 2)]
            self._send(status, body, content_type, headers)
            return
        if (path.rstrip("/") or "/") in events.STREAM_PATHS:
            self._stream(method, path.rstrip("/"))
            return
        try:
            if method != "GET" and not (path in _WATCH_PATHS and method in {"PUT", "POST"}):
                raise HttpError(405 if path != "/" else 400)
            status, body, content_type, headers = self._route(path, query)
        except HttpError as exc:
            self._send(
                exc.status,
                html_body(exc.status),
                "text/html",
            )
            return
        if fault.mode == "malformed" and path.startswith(fault.path_prefix or "/"):
            body = body[: max(1, len(body) // 2)]  # truncated, with a matching Content-Length
        self._send(status, body, content_type, headers)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        # Capped: whatever is left unread makes the next keep-alive request garbage, so close.
        if length > 1024 * 1024:
            self.close_connection = True
            return self.rfile.read(1024 * 1024)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Plex-Protocol", "1.0")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Drop the connection without answering: the client sees a reset, as from a crash."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    # -- notification streams (events.py) ---------------------------------------------------

    def _stream(self, method: str, path: str) -> None:
        """The owner's notification stream: 401 for an unknown token, 403 for a shared
        user's, 405 for anything but GET, 400 for a WebSocket path without an upgrade."""
        query = dict(self._pairs)
        websocket = path in events.WEBSOCKET_PATHS
        key = self.headers.get("Sec-WebSocket-Key") or ""
        try:
            if method != "GET":
                raise HttpError(405)
            if not self._owner(query):
                raise HttpError(403)
            upgrade = (self.headers.get("Upgrade") or "").lower()
            if websocket and (upgrade != "websocket" or not key):
                raise HttpError(400)
        except HttpError as exc:
            self._send(exc.status, html_body(exc.status), "text/html")
            return
        hub = self.server.state.events
        subscriber = events.Subscriber(
            "websocket" if websocket else "eventsource",
            events.parse_filters(self._pairs),
            self.connection,
        )
        self.close_connection = True  # the stream is the connection's last answer
        hub.subscribe(subscriber)  # before the answer: nothing published after it is lost
        try:
            if websocket:
                self._websocket(subscriber, key, path)
            else:
                self._eventsource(subscriber, path)
        except (OSError, ValueError):
            subscriber.dropped = True  # the client went away mid-write
        finally:
            hub.unsubscribe(subscriber)
            subscriber.closed.set()
            if subscriber.dropped:
                self._reset()

    def _websocket(self, subscriber: events.Subscriber, key: str, path: str) -> None:
        """RFC 6455 over this connection: the 101 answer, then unmasked text frames; a reader
        thread answers the client's pings and close."""
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", events.websocket_accept(key))
        self.end_headers()
        write_lock = threading.Lock()

        def send(opcode: int, payload: bytes) -> None:
            with write_lock:
                self.wfile.write(events.websocket_frame(opcode, payload))

        reader = threading.Thread(
            target=self._websocket_reader,
            args=(subscriber, send),
            daemon=True,
            name=f"plex-emulator-ws-{self.client_address[1]}",
        )
        reader.start()
        self._pump(subscriber, path, lambda kind, text: send(0x1, text.encode()), None)
        reader.join(timeout=2)

    def _websocket_reader(
        self, subscriber: events.Subscriber, send: Callable[[int, bytes], None]
    ) -> None:
        try:
            while not subscriber.closed.is_set():
                frame = events.read_frame(self.rfile.read)
                if frame is None:
                    break
                opcode, payload = frame
                if opcode == 0x8:  # close: echo the status code, then the connection ends
                    send(0x8, payload[:2])
                    break
                if opcode == 0x9:  # ping
                    send(0xA, payload[:125])
                # text, binary, pong, continuation: nothing for the server to do
        except events.FrameError as exc:
            with contextlib.suppress(OSError):
                send(0x8, struct.pack("!H", exc.code))
        except (OSError, ValueError):
            pass
        finally:
            subscriber.closed.set()
            subscriber.queue.put(None)

    def _eventsource(self, subscriber: events.Subscriber, path: str) -> None:
        """text/event-stream, chunked: `event: <type>` and `data: <JSON>` per message, and a
        `: ping` comment every `heartbeat` seconds."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Plex-Protocol", "1.0")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        def deliver(kind: str, text: str) -> None:
            chunk(f"event: {kind}\ndata: {text}\n\n".encode())

        chunk(b": connected\n\n")  # the client's read returns: it knows the stream is open
        self._pump(subscriber, path, deliver, lambda: chunk(b": ping\n\n"))

    def _client_gone(self) -> bool:
        """True when the peer closed its end (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _pump(
        self,
        subscriber: events.Subscriber,
        path: str,
        deliver: Callable[[str, str], None],
        heartbeat: Callable[[], None] | None,
    ) -> None:
        """Deliver queued messages until the stream ends, through the fault of the moment:
        "reset" drops the stream, "hold" keeps messages back, "latency" delays each,
        "malformed" truncates each; "status" only refuses new streams."""
        state = self.server.state
        last_write = time.monotonic()
        while not subscriber.closed.is_set():
            fault = state.fault
            faulted = fault.mode != "ok" and path.startswith(fault.path_prefix or "/")
            if faulted and fault.mode == "reset":
                subscriber.dropped = True
                return
            if faulted and fault.mode == "hold":
                state.released.wait(0.25)
                continue
            try:
                item = subscriber.queue.get(timeout=0.25)
            except queue.Empty:
                item = None
            if subscriber.closed.is_set():
                return
            if item is not None:
                kind, text = item
                if faulted and fault.mode == "latency":
                    time.sleep(fault.delay_ms / 1000)
                if faulted and fault.mode == "malformed":
                    text = text[: max(1, len(text) // 2)]
                deliver(kind, text)
                last_write = time.monotonic()
            elif heartbeat is not None:
                if self._client_gone():
                    return
                if time.monotonic() - last_write >= state.heartbeat:
                    heartbeat()
                    last_write = time.monotonic()

    def _payload(self) -> dict[str, Any]:
        """A control request's JSON object; ValueError when it is not one."""
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("a JSON object is expected")
        return payload

    def _control(self, method: str, path: str) -> None:
        state = self.server.state
        if path == f"{CONTROL_PREFIX}events" and method == "GET":
            self._json(200, {"connected": state.events.connected()})
        elif path == f"{CONTROL_PREFIX}events/drop" and method == "POST":
            self._json(200, {"dropped": state.events.drop_all()})
        elif path == f"{CONTROL_PREFIX}library/items" and method == "POST":
            try:
                payload = self._payload()
                title = payload.get("title")
                if not isinstance(title, str) or not title.strip():
                    raise ValueError("title is required")
                year = payload.get("year")
                rating_key = state.add_movie(
                    str(payload.get("section", "")), title, int(year) if year else None
                )
            except KeyError:
                self._json(404, {"error": "unknown section"})
                return
            except (ValueError, TypeError) as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(201, {"ratingKey": rating_key})
        elif path.startswith(f"{CONTROL_PREFIX}library/items/") and method == "DELETE":
            rating_key = path.rsplit("/", 1)[1]
            try:
                state.remove_item(rating_key)
            except KeyError:
                self._json(404, {"error": "unknown ratingKey"})
                return
            except ValueError as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, {"removed": rating_key})
        elif path == f"{CONTROL_PREFIX}library/reset" and method == "POST":
            state.reset_library()
            self._json(200, {"reset": True})
        elif path == f"{CONTROL_PREFIX}play" and method == "POST":
            try:
                payload = self._payload()
                notification = state.play(
                    str(payload.get("account", "")),
                    str(payload.get("ratingKey", "")),
                    int(payload.get("viewOffset") or 0),
                    str(payload.get("state") or "playing"),
                )
            except KeyError as exc:
                self._json(404, {"error": f"unknown account or ratingKey: {exc}"})
                return
            except (ValueError, TypeError) as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, notification)
        elif path.startswith(f"{CONTROL_PREFIX}connections"):
            self._connections_control(method, path.removeprefix(f"{CONTROL_PREFIX}connections"))
        elif path == f"{CONTROL_PREFIX}stats" and method == "GET":
            self._json(200, state.stats())
        elif path == f"{CONTROL_PREFIX}stats/reset" and method == "POST":
            state.reset_stats()
            self._json(200, state.stats())
        elif path == f"{CONTROL_PREFIX}fault" and method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
                fault = state.set_fault(**payload)
            except (ValueError, TypeError) as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, asdict(fault))
        elif path == f"{CONTROL_PREFIX}fault" and method == "GET":
            self._json(200, asdict(state.fault))
        elif path == f"{CONTROL_PREFIX}watch" and method == "GET":
            # An account's state of an item: what that account's token sees on it.
            query = dict(self._pairs)
            account, rating_key = query.get("account", ""), query.get("ratingKey", "")
            if rating_key not in state.library.by_key:
                self._json(404, {"error": "unknown ratingKey"})
                return
            try:
                watched = state.watch(account).get(rating_key)
            except KeyError:
                self._json(404, {"error": "unknown account"})
                return
            self._json(200, {"account": account, "ratingKey": rating_key, **watched})
        elif path == f"{CONTROL_PREFIX}watch/reset" and method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as exc:
                self._json(400, {"error": str(exc)})
                return
            state.reset_watch(payload.get("account") if isinstance(payload, dict) else None)
            self._json(200, {"reset": True})
        else:
            self._json(404, {"error": "unknown control endpoint"})

    def _connections_control(self, method: str, action: str) -> None:
        """GET .../connections: what plex.tv lists and which is which (with the impostor's
        and the dead one's counters); POST .../connections/move: the live one moves to a new
        port; POST .../connections/reset: back to its first port (or a fresh one)."""
        published = self.server.state.published
        if published is None:
            self._json(404, {"error": "this server publishes no connections"})
        elif action == "" and method == "GET":
            self._json(200, published.describe())
        elif action == "/move" and method == "POST":
            previous = published.live_url
            uri = published.move()
            self._json(200, {"uri": uri, "previous": previous, **published.describe()})
        elif action == "/reset" and method == "POST":
            uri = published.reset()
            self._json(200, {"uri": uri, **published.describe()})
        else:
            self._json(404, {"error": "unknown control endpoint"})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    # -- the Plex API -----------------------------------------------------------------------

    def _token(self, query: dict[str, str]) -> str:
        return self.headers.get("X-Plex-Token") or query.get("X-Plex-Token", "")

    def _owner(self, query: dict[str, str]) -> bool:
        """True for the owner, False for the friend; 401 for anyone else. Sets the account's
        watch state for the answer."""
        token = self._token(query)
        state = self.server.state
        known = state.tokens.get(token) if token else None
        if known is None:
            raise HttpError(401)
        account, owner = known
        self._watch = state.watch(account)
        return owner

    def _paging(self, query: dict[str, str]) -> tuple[int, int | None]:
        def value(name: str) -> str | None:
            return self.headers.get(name) or query.get(name)

        try:
            start = int(value("X-Plex-Container-Start") or 0)
            size_text = value("X-Plex-Container-Size")
            size = int(size_text) if size_text not in (None, "") else None
        except ValueError:
            raise HttpError(400) from None
        if start < 0 or (size is not None and size < 0):
            raise HttpError(400)
        return start, size

    def _answer(
        self, document: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, str, dict[str, str]]:
        if self._watch is not None:
            document = self._watch.render(document)  # the token's own viewCount, viewOffset...
        if "application/json" in (self.headers.get("Accept") or ""):
            return 200, to_json(document), "application/json", headers or {}
        return 200, to_xml(document), "text/xml;charset=utf-8", headers or {}

    def _paged(
        self,
        entries: list[dict[str, Any]],
        query: dict[str, str],
        attributes: dict[str, Any],
        array: str = "Metadata",
    ) -> tuple[int, bytes, str, dict[str, str]]:
        start, size = self._paging(query)
        total = len(entries)
        window = entries[start:] if size is None else entries[start : start + size]
        if array == "Metadata":
            window = [browse.listed(entry) for entry in window]
        document = container({**attributes, "totalSize": total, "offset": start}, **{array: window})
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(total)}
        return self._answer(document, headers)

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str, dict[str, str]]:
        state = self.server.state
        library = state.library
        path = path.rstrip("/") or "/"  # real servers take `/library/sections/` alike
        if path == "/identity":
            return self._answer(
                container(
                    {
                        "apiVersion": "1.2.2",
                        "claimed": True,
                        "machineIdentifier": library.machine_identifier,
                        "version": state.version,
                    }
                )
            )
        owner = self._owner(query)
        if not owner and (
            path in _OWNER_ONLY
            or any(path.startswith(f"{p}/") for p in _OWNER_ONLY if p != "/library")
        ):
            raise HttpError(403)
        if path in _WATCH_PATHS:
            return self._watch_action(path, query, owner)
        if path == "/":
            return self._answer(self._root())
        if path == "/accounts":
            return self._answer(self._accounts())
        if path == "/status/sessions":
            return self._answer(container({}))
        if path == "/library":
            return self._answer(
                container(
                    {
                        "allowSync": False,
                        "identifier": "com.plexapp.plugins.library",
                        "title1": "Plex Library",
                    },
                    Directory=[
                        {"key": "sections", "title": "Library Sections"},
                        {"key": "recentlyAdded", "title": "Recently Added Content"},
                        {"key": "onDeck", "title": "On Deck Content"},
                    ],
                )
            )
        # The public spec (from Plex's own API docs) names /library/sections/all for the list;
        # clients and the captures use /library/sections. Both answer the same.
        if path in {"/library/sections", "/library/sections/all"}:
            sections = [s.directory() for s in library.visible_sections(owner)]
            return self._answer(
                container({"allowSync": False, "title1": "Plex Library"}, Directory=sections)
            )
        if match := re.fullmatch(r"/library/sections/(\d+)(?:/(\w+))?", path):
            return self._section(
                self._section_for(match.group(1), owner), match.group(2), query, owner
            )
        if path == "/library/all":
            return self._library_all(query, owner)
        if path == "/library/recentlyAdded":
            return self._recently_added(query, owner, None)
        if path == "/hubs/home/recentlyAdded":
            entries = hubs.home_recently_added(
                library, owner, self._level(query) or None, query.get("sectionID")
            )
            return self._paged(entries, query, {"allowSync": True, **_LIBRARY})
        if path in {
            "/library/onDeck",
            "/hubs/home/onDeck",
            "/hubs/home/continueWatching",
            "/hubs/continueWatching/items",
        }:
            deck = hubs.on_deck(library, owner, None, self._watch)
            return self._paged(deck, query, dict(hubs.CONTAINER))
        if match := re.fullmatch(r"/hubs/sections/(\d+)(/continueWatching/items)?", path):
            section = self._section_for(match.group(1), owner)
            if match.group(2):
                entries = hubs.on_deck(library, owner, section, self._watch)
                return self._paged(entries, query, dict(hubs.CONTAINER))
            found = hubs.section_hubs(library, owner, section, self._count(query), self._watch)
            attributes = {
                "allowSync": True,
                "identifier": "com.plexapp.plugins.library",
                "librarySectionID": int(section.key),
                "librarySectionTitle": section.title,
                "librarySectionUUID": section.uuid,
            }
            return self._answer(container(attributes, Hub=found))
        if path == "/hubs":
            found = hubs.home_hubs(library, owner, self._count(query), self._watch)
            return self._answer(container({"allowSync": True, **_LIBRARY}, Hub=found))
        if path == "/hubs/continueWatching":
            found = hubs.home_hubs(library, owner, self._count(query), self._watch)[:1]
            return self._answer(container({"allowSync": True, **_LIBRARY}, Hub=found))
        if path == "/hubs/search":
            return self._hub_search(query, owner)
        if path == "/library/search":
            return self._library_search(query, owner)
        if path == "/search":
            return self._legacy_search(query, owner)
        if match := re.fullmatch(r"/library/collections/(\d+)(/children)?", path):
            return self._metadata(
                match.group(1), "children" if match.group(2) else None, query, owner
            )
        if match := re.fullmatch(r"/library/metadata/(\d+)(?:/(children|allLeaves))?", path):
            return self._metadata(match.group(1), match.group(2), query, owner)
        if match := _IMAGE_PATH.fullmatch(path):
            return self._image(path, match.group(1), query, owner)
        if path == "/photo/:/transcode":
            return self._transcode(query, owner)
        if path.startswith("/:/resources/") and path.endswith((".png", ".jpg")):
            kind = "PNG" if path.endswith(".png") else "JPEG"
            body = images.render(path, 256, 256, kind)
            return 200, body, f"image/{kind.lower()}", {}
        raise HttpError(404)

    def _watch_action(
        self, path: str, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        """/:/scrobble and /:/unscrobble (`key` = ratingKey, or the spec's `uri`; a show, season,
        artist, album or collection stands for its episodes or tracks), /:/progress
        (python-plexapi's updateProgress) and /:/timeline (a player's report): for the
        requesting token's account alone. 400 without a key or with another `identifier`
        (required but for the timeline, whose spec lists none), 404 for an item the token
        cannot see. The spec's 200 for scrobble is text/html with no schema: an empty body
        (python-plexapi parses an empty answer as None); the timeline's is a MediaContainer."""
        library = self.server.state.library
        watch = self._watch
        assert watch is not None  # set by _owner
        identifier = query.get("identifier")
        if identifier != _LIBRARY["identifier"] and (path != "/:/timeline" or identifier):
            raise HttpError(400)
        if path == "/:/timeline":
            key = query.get("ratingKey") or key_from_uri(query.get("key", ""))
        else:
            key = query.get("key") or key_from_uri(query.get("uri", ""))
        if not key:
            raise HttpError(400)
        item = library.by_key.get(key)
        if item is None or not library.can_see(key, owner):
            raise HttpError(404)
        if path == "/:/scrobble":
            watch.scrobble(key)
            return 200, b"", "text/html", {}
        if path == "/:/unscrobble":
            watch.unscrobble(key)
            return 200, b"", "text/html", {}
        if item["type"] not in LEAF_TYPES:
            raise HttpError(400)
        try:
            offset = int(query["time"])
            duration = int(query["duration"]) if query.get("duration") else None
        except (KeyError, ValueError):
            raise HttpError(400) from None
        if query.get("state", "stopped") not in {"stopped", "buffering", "playing", "paused"}:
            raise HttpError(400)
        watch.progress(key, offset, duration)
        if path == "/:/progress":
            return 200, b"", "text/html", {}
        return self._answer(container({}))

    def _root(self) -> dict[str, Any]:
        state = self.server.state
        return container(
            {
                "allowCameraUpload": False,
                "allowChannelAccess": True,
                "allowMediaDeletion": True,
                "allowSharing": True,
                "allowSync": False,
                "allowTuners": True,
                "apiVersion": "1.2.2",
                "backgroundProcessing": True,
                "companionProxy": True,
                "countryCode": "",
                "eventStream": True,
                "friendlyName": state.friendly_name,
                "hubSearch": True,
                "itemClusters": True,
                "livetv": 7,
                "machineIdentifier": state.library.machine_identifier,
                "mediaProviders": True,
                "multiuser": True,
                "musicAnalysis": 2,
                "myPlex": True,
                "myPlexMappingState": "mapped",
                "myPlexSigninState": "ok",
                "myPlexSubscription": True,
                "myPlexUsername": "owner@example.com",
                "platform": "Linux",
                "platformVersion": "6.1.0",
                "pluginHost": True,
                "requestParametersInCookie": True,
                "sync": True,
                "transcoderActiveVideoSessions": 0,
                "transcoderAudio": True,
                "transcoderVideo": True,
                "updatedAt": 1_731_000_000,
                "version": state.version,
                "voiceSearch": True,
            },
            Directory=[
                {"count": 1, "key": "activities", "title": "activities"},
                {"count": 1, "key": "butler", "title": "butler"},
                {"count": 1, "key": "hubs", "title": "hubs"},
                {"count": 1, "key": "library", "title": "library"},
                {"count": 1, "key": "playlists", "title": "playlists"},
                {"count": 1, "key": "search", "title": "search"},
            ],
        )

    def _accounts(self) -> dict[str, Any]:
        """GET /accounts (owner only), shaped like xml/plex_server_accounts.xml: the local
        system account 0, the owner 1, and the friend."""
        accounts = [(0, ""), (1, "owner"), (1001, "friend")]
        return container(
            {"identifier": "com.plexapp.system.accounts"},
            Account=[
                {"id": number, "key": f"/accounts/{number}", "name": name, **_ACCOUNT_DEFAULTS}
                for number, name in accounts
            ],
        )

    def _level(self, query: dict[str, str]) -> int:
        try:
            level = int(query.get("type") or 0)
        except ValueError:
            raise HttpError(400) from None
        if level and level not in _LEVEL_TYPES:
            raise HttpError(400)
        return level

    def _count(self, query: dict[str, str]) -> int:
        """Items per hub (`count`, as the spec's hub endpoints take it)."""
        try:
            count = int(query.get("count") or 6)
        except ValueError:
            raise HttpError(400) from None
        return max(0, count)

    def _section_for(self, key: str, owner: bool) -> Section:
        section = self.server.state.library.sections.get(key)
        if section is None or not (owner or section.shared):
            raise HttpError(404)
        return section

    def _section_attributes(self, section: Section, title2: str) -> dict[str, Any]:
        return {
            "allowSync": True,
            "art": f"/:/resources/{section.type}-fanart.jpg",
            "identifier": "com.plexapp.plugins.library",
            "librarySectionID": int(section.key),
            "librarySectionTitle": section.title,
            "librarySectionUUID": section.uuid,
            "mediaTagPrefix": "/system/bundle/media/flags/",
            "mediaTagVersion": 1_734_362_201,
            "thumb": f"/:/resources/{section.type}.png",
            "title1": section.title,
            "title2": title2,
            "viewGroup": section.type if section.type != "artist" else "artist",
            "content": "secondary",  # as on real /all containers (json/..get-library-all.*)
        }

    def _section(
        self, section: Section, action: str | None, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        library = self.server.state.library
        if action is None:
            return self._answer(
                container(
                    {
                        "allowSync": True,
                        "art": f"/:/resources/{section.type}-fanart.jpg",
                        "content": "secondary",
                        "identifier": "com.plexapp.plugins.library",
                        "librarySectionID": int(section.key),
                        "title1": section.title,
                    },
                    Directory=[
                        {"key": "all", "title": "All"},
                        {"key": "recentlyAdded", "title": "Recently Added"},
                        {"key": "collections", "title": "Collections"},
                    ],
                )
            )
        if action == "all":
            try:
                level = int(query.get("type") or 0)
            except ValueError:
                raise HttpError(400) from None
            if level and level not in _LEVEL_TYPES:
                raise HttpError(400)
            # plexapi sends `movie.year:desc`; a comma adds tie-breakers, which are ignored.
            sort = (query.get("sort") or "titleSort:asc").split(",")[0]
            field, _, direction = sort.partition(":")
            field = field.rpartition(".")[2]
            if field not in SORT_FIELDS or direction not in {"", "asc", "desc"}:
                raise HttpError(400)
            entries = library.sorted_items(section, level, f"{field}:{direction or 'asc'}")
            if (
                query.get("includeCollections") == "1"
                and level in {0, 1, 2, 8}
                and section.collections
            ):
                entries = (
                    sorted(
                        [*entries, *section.collections],
                        key=lambda item: (item.get("titleSort", ""), int(item["ratingKey"])),
                        reverse=direction == "desc",
                    )
                    if field in {"titleSort", "title"}
                    else [*entries, *section.collections]
                )
            entries = self._filter(entries)
            attributes = self._section_attributes(section, "All")
            if query.get("includeMeta") == "1":
                attributes["Meta"] = browse.meta(section, _LEVEL_TYPES.get(level, ""))
            return self._paged(entries, query, attributes)
        if action == "collections":
            attributes = self._section_attributes(section, "Collections")
            if query.get("includeMeta") == "1":
                attributes["Meta"] = {
                    "Type": [browse.meta_type(section, "collection", "Collections", True)],
                    "FieldType": browse.field_types(),
                }
            return self._paged(section.collections, query, attributes)
        if action == "recentlyAdded":
            return self._recently_added(query, owner, section)
        if action == "onDeck":
            deck = hubs.on_deck(library, owner, section, self._watch)
            return self._paged(deck, query, dict(hubs.CONTAINER))
        if action in browse.FILTER_ENDPOINTS:
            level = self._level(query)
            if level and level not in _levels(section):
                raise HttpError(400)
            attributes, entries = browse.filter_choices(library, section, action, level)
            return self._answer(container(attributes, Directory=entries))
        raise HttpError(404)

    def _filter(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            return browse.apply_filters(
                self.server.state.library, entries, self._pairs, self._watch
            )
        except browse.BadFilter:
            raise HttpError(400) from None

    def _library_all(
        self, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        """Every visible section's items of one level (top level by default), by title."""
        library = self.server.state.library
        try:
            level = int(query.get("type") or 0)
        except ValueError:
            raise HttpError(400) from None
        if level and level not in _LEVEL_TYPES:
            raise HttpError(400)
        entries = [
            item
            for section in library.visible_sections(owner)
            if not level or level in _levels(section)
            for item in library.sorted_items(section, level, "titleSort:asc")
        ]
        return self._paged(
            self._filter(entries),
            query,
            {"allowSync": False, "identifier": "com.plexapp.plugins.library"},
        )

    def _recently_added(
        self, query: dict[str, str], owner: bool, section: Section | None
    ) -> tuple[int, bytes, str, dict[str, str]]:
        """Newest first; paged with `totalSize`, 50 entries when no size is asked."""
        library = self.server.state.library
        entries = hubs.recently_added(library, owner, section, self._level(query) or None)
        start, size = self._paging(query)
        window = entries[start : start + (50 if size is None else size)]
        attributes = {**hubs.CONTAINER, "totalSize": len(entries), "offset": start}
        if section is not None:
            attributes.update(self._section_attributes(section, "Recently Added"))
        headers = {
            "X-Plex-Container-Start": str(start),
            "X-Plex-Container-Total-Size": str(len(entries)),
        }
        return self._answer(container(attributes, Metadata=window), headers)

    def _visible_matches(
        self, query: dict[str, str], owner: bool
    ) -> list[tuple[float, dict[str, Any]]]:
        text = query.get("query", "")
        if not text.strip():
            raise HttpError(400)
        library = self.server.state.library
        section_id = query.get("sectionId")
        return [
            (score, item)
            for score, item in self.server.state.search(text)
            if library.can_see(item["ratingKey"], owner)
            and (not section_id or library.section_of[item["ratingKey"]] == section_id)
        ]

    def _search_limit(self, query: dict[str, str], default: int) -> int:
        try:
            return max(0, int(query.get("limit") or default))
        except ValueError:
            raise HttpError(400) from None

    def _search_scope(self, query: dict[str, str], owner: bool) -> set[str]:
        library = self.server.state.library
        visible = {s.key for s in library.visible_sections(owner)}
        section_id = query.get("sectionId")
        return visible & {section_id} if section_id else visible

    def _hub_search(
        self, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        matches = self._visible_matches(query, owner)
        found = hubs.search_hubs(
            self.server.state.library,
            matches,
            _fold(query["query"].strip()),
            self._search_scope(query, owner),
            self._search_limit(query, 3),
        )
        return self._answer({"MediaContainer": {"size": len(found), "Hub": found}})

    def _library_search(
        self, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        matches = self._visible_matches(query, owner)
        results = hubs.library_search(
            self.server.state.library,
            matches,
            _fold(query["query"].strip()),
            self._search_scope(query, owner),
            self._search_limit(query, 100),
        )
        return self._answer(container({}, SearchResult=results))

    def _legacy_search(
        self, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        matches = self._visible_matches(query, owner)
        wanted = _LEVEL_TYPES.get(int(query["type"])) if query.get("type", "").isdigit() else None
        items = [
            browse.listed(item)
            for _, item in matches
            if (item["type"] == wanted if wanted else item["type"] != "track")
        ]
        return self._answer(
            container({"identifier": "com.plexapp.plugins.library"}, Metadata=items)
        )

    def _metadata(
        self, rating_key: str, action: str | None, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        library = self.server.state.library
        item = library.by_key.get(rating_key)
        if item is None or not library.can_see(rating_key, owner):
            raise HttpError(404)
        section = library.sections[library.section_of[rating_key]]
        attributes = {
            "allowSync": True,
            "identifier": "com.plexapp.plugins.library",
            "librarySectionID": int(section.key),
            "librarySectionTitle": section.title,
            "librarySectionUUID": section.uuid,
            "mediaTagPrefix": "/system/bundle/media/flags/",
            "mediaTagVersion": 1_734_362_201,
        }
        if action is None:
            return self._answer(container(attributes, Metadata=[browse.detailed(item)]))
        if action == "allLeaves":
            # A show's episodes, an artist's tracks (real servers answer both); else 400.
            if item["type"] not in {"show", "artist"}:
                raise HttpError(400)
            leaves = [
                e
                for season in library.children_of.get(rating_key, [])
                for e in library.children_of.get(season["ratingKey"], [])
            ]
            title2 = "All episodes" if item["type"] == "show" else "All tracks"
            return self._paged(
                leaves, query, {**attributes, "title1": item["title"], "title2": title2}
            )
        children = list(library.children_of.get(rating_key, []))
        extra: dict[str, Any] = {"title1": item["title"], "key": rating_key}
        if item["type"] == "show" and query.get("excludeAllLeaves") != "1" and children:
            # Real servers list an "All episodes" pseudo-season first.
            children.insert(
                0,
                {
                    "key": f"/library/metadata/{rating_key}/allLeaves",
                    "type": "season",
                    "title": "All episodes",
                    "leafCount": item.get("leafCount", 0),
                    "thumb": item["thumb"],
                    "viewedLeafCount": self._watch.viewed(rating_key) if self._watch else 0,
                    # Like a grouped season: when its newest episode was added.
                    "addedAt": max(
                        library.added_at(season) for season in library.children_of[rating_key]
                    ),
                },
            )
        if item["type"] in {"show", "season", "artist", "album"}:
            extra.update(
                {
                    "parentTitle": item.get("parentTitle", ""),
                    "viewGroup": children[0]["type"] if children else "",
                }
            )
        return self._paged(children, query, {**attributes, **extra})

    def _image_seed(self, path: str, owner: bool) -> str:
        """The image a Plex path names, or 404 when the token may not see its item."""
        match = _IMAGE_PATH.fullmatch(path)
        if match is None:
            if path.startswith("/:/resources/"):
                return path
            raise HttpError(404)
        library = self.server.state.library
        if not library.can_see(match.group(1), owner):
            raise HttpError(404)
        return f"{match.group(1)}/{match.group(2)}"

    def _size(self, query: dict[str, str], default: tuple[int, int]) -> tuple[int, int]:
        try:
            width = int(query.get("width") or default[0])
            height = int(query.get("height") or default[1])
        except ValueError:
            raise HttpError(400) from None
        if width <= 0 or height <= 0:
            raise HttpError(400)
        return min(width, images.MAX_SIDE), min(height, images.MAX_SIDE)

    def _image(
        self, path: str, rating_key: str, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        seed = self._image_seed(path, owner)
        default = (1280, 720) if "/art" in path else (600, 900)
        width, height = self._size(query, default)
        return 200, images.render(seed, width, height), "image/jpeg", {}

    def _transcode(
        self, query: dict[str, str], owner: bool
    ) -> tuple[int, bytes, str, dict[str, str]]:
        url = query.get("url", "")
        if not url:
            raise HttpError(400)
        target = urlsplit(url)
        if target.scheme or target.netloc:
            # Plex fetches remote URLs itself; the emulator has no internet to fetch from.
            raise HttpError(403)
        seed = self._image_seed(target.path, owner)
        width, height = self._size(query, (300, 450))
        if query.get("format") == "png":
            return 200, images.render(seed, width, height, "PNG"), "image/png", {}
        return 200, images.render(seed, width, height), "image/jpeg", {}


def _levels(section: Section) -> set[int]:
    """The type ids a section holds."""
    return {"movie": {1, 18}, "show": {2, 3, 4, 18}, "artist": {8, 9, 10, 18}}[section.type]


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One listening port of a server. `main=False`: another port of the same server (a
    connection plex.tv publishes, connections.py), which answers only the Plex routes: no
    control endpoints and no plex.tv (both stay on the main port, which never moves), and
    closing it ends its own connections, not the streams of the state it shares."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], state: EmulatorState, *, main: bool = True
    ) -> None:
        self.state = state
        self.main = main
        # Open client connections, so that a port that goes away takes its keep-alive
        # connections with it instead of serving them on (close_connections).
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, PlexHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> int:
        """Shut down every open client connection: the handler threads (a stream's too) see
        the end and close them. How many there were."""
        with self._open_lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return len(open_now)

    def server_close(self) -> None:
        if self.main:
            self.state.events.drop_all()  # stream threads end; none outlives the server
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a reset fault, a timeout) is routine here; anything
        # else is a bug of the emulator's own and must not pass for a network fault.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        logger.exception("Plex emulator: error answering %s", client_address)
