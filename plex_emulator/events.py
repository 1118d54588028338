"""Plex's notification stream: who listens, what a message looks like, and the two wire formats.

A real Plex Media Server pushes `{"NotificationContainer": {"type": T, "size": N, <Array>: [...]}}`
messages to its owner over a WebSocket (`/:/websockets/notifications`, what python-plexapi
4.18's `AlertListener.key` names; the public spec also lists `/:/websocket/notifications`) and
over an EventSource (`/:/eventsource/notifications`, text/event-stream). Evidence:
PLEX_API.md "More real-server facts" (Notifications); python-plexapi's plexapi/alert.py (the path,
`json.loads(message)['NotificationContainer']`, the timeline `state` values 0 created, 1
progress, 2 matching, 3 downloading metadata, 4 processing metadata, 5 processed, 9 deleted);
the public spec (LukeHagar/plex-api-spec: both paths, the `filters` query parameter, the
`/activities` Activity fields); plex-api-client 0.36's models (NotificationContainer,
TimelineEntry, PlaySessionStateNotification, StatusNotification).

Message arrays, by type:
    timeline  TimelineEntry[]                 identifier, itemID, sectionID, type, title, state,
                                              metadataState (absent once done), updatedAt
    playing   PlaySessionStateNotification[]  sessionKey, clientIdentifier, guid, ratingKey, url,
                                              key, viewOffset, playQueueItemID, state
    activity  ActivityNotification[]          event (started|updated|ended), uuid, Activity{...}
    status    StatusNotification[]            title, description, notificationName

The EventSource sends each message as `event: <type>` + `data: <the JSON>` + a blank line, and a
`: ping` comment line every few seconds (the spec documents no heartbeat; a comment is what
EventSource clients ignore) so a client can tell a live quiet stream from a dead one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

WEBSOCKET_PATHS = frozenset({"/:/websockets/notifications", "/:/websocket/notifications"})
EVENTSOURCE_PATH = "/:/eventsource/notifications"
STREAM_PATHS = WEBSOCKET_PATHS | {EVENTSOURCE_PATH}
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
MAX_CLIENT_FRAME = 1024 * 1024  # a client frame larger than this closes the socket (1009)
ARRAYS = {
    "timeline": "TimelineEntry",
    "playing": "PlaySessionStateNotification",
    "activity": "ActivityNotification",
    "status": "StatusNotification",
    "progress": "ProgressNotification",
    "reachability": "ReachabilityNotification",
}
# Numeric type ids, as /library/sections/{key}/all?type=N and TimelineEntry.type use them.
TYPE_IDS = {
    "movie": 1,
    "show": 2,
    "season": 3,
    "episode": 4,
    "artist": 8,
    "album": 9,
    "track": 10,
    "collection": 18,
}


def message(kind: str, entries: list[dict[str, Any]]) -> str:
    """One notification as the server sends it (a JSON text)."""
    body = {"type": kind, "size": len(entries), ARRAYS[kind]: entries}
    return json.dumps({"NotificationContainer": body}, separators=(",", ":"))


def parse_filters(pairs: list[tuple[str, str]]) -> Callable[[str], bool]:
    """The spec's `filters` (also `filter`): absent means every type but `log`; `a,b` only
    those; `-a,b` every type but those; empty every type."""
    values = [value for name, value in pairs if name in {"filters", "filter"}]
    if not values:
        return lambda kind: kind != "log"
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        return lambda kind: True
    if names[0].startswith("-"):
        excluded = {name.lstrip("-") for name in names}
        return lambda kind: kind not in excluded
    included = set(names)
    return lambda kind: kind in included


class Subscriber:
    """One open stream: its queue of messages and how it ends."""

    def __init__(self, kind: str, wants: Callable[[str], bool], sock: socket.socket) -> None:
        self.kind = kind  # "websocket" or "eventsource"
        self.wants = wants
        self.sock = sock
        self.queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.closed = threading.Event()
        self.dropped = False  # ended by the server abruptly (drop, reset fault, shutdown)

    def drop(self) -> None:
        """End the stream abruptly: the handler thread closes the socket with a reset. The
        shutdown wakes a thread blocked reading or writing it."""
        self.dropped = True
        self.closed.set()
        self.queue.put(None)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class EventHub:
    """The owner's open streams; `publish` queues a message for each that wants its type."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def connected(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, kind: str, entries: list[dict[str, Any]]) -> None:
        text = message(kind, entries)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.wants(kind):
                subscriber.queue.put((kind, text))

    def drop_all(self) -> int:
        """Drop every open stream (reconnection tests; the server's shutdown)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.drop()
        return len(subscribers)


# -- RFC 6455 -------------------------------------------------------------------------------


def websocket_accept(key: str) -> str:
    digest = hashlib.sha1((key.strip() + _WS_GUID).encode()).digest()
    return base64.b64encode(digest).decode()


def websocket_frame(opcode: int, payload: bytes) -> bytes:
    """A final, unmasked server frame (servers never mask, RFC 6455 5.1)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


class FrameError(Exception):
    """A client frame breaking the protocol: the server closes with `code`."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def read_frame(read: Callable[[int], bytes]) -> tuple[int, bytes] | None:
    """One client frame (opcode, unmasked payload); None when the client has gone."""
    head = _read_exactly(read, 2)
    if head is None:
        return None
    opcode = head[0] & 0x0F
    masked = head[1] & 0x80
    length = head[1] & 0x7F
    if length == 126:
        more = _read_exactly(read, 2)
        if more is None:
            return None
        length = struct.unpack("!H", more)[0]
    elif length == 127:
        more = _read_exactly(read, 8)
        if more is None:
            return None
        length = struct.unpack("!Q", more)[0]
    if not masked:
        raise FrameError(1002)  # clients must mask every frame (RFC 6455 5.1)
    if length > MAX_CLIENT_FRAME:
        raise FrameError(1009)
    mask = _read_exactly(read, 4)
    payload = _read_exactly(read, length) if length else b""
    if mask is None or payload is None:
        return None
    return opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


def _read_exactly(read: Callable[[int], bytes], count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = read(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
