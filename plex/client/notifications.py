"""Plex's notification stream, read as EventSource (`GET /:/eventsource/notifications`): the one
long-lived request MediaNest makes, so it does not go through `http.send`, which reads whole
answers within a deadline. The same rules hold: no redirects, the status mapped by
`http.raise_for_status`, a cap on what is read (per event), the token in a header, messages
that name the server and never a URL.

Each event is `data: {"NotificationContainer": {"type": "timeline", "size": 1,
"TimelineEntry": [...]}}` and a blank line (docs/plex-api.md, Notifications). Plex also sends
comments and pings to keep the connection open; a stream silent for `idle_timeout` seconds is
taken for dead.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from .errors import PlexBadResponse, PlexUnavailable
from .http import raise_for_status

MAX_EVENT_BYTES = 1024 * 1024  # one event; a real one is a few hundred bytes
PATH = "/:/eventsource/notifications"


@dataclass(frozen=True, slots=True)
class Notification:
    """One message of the stream: its `type` (timeline, playing, activity, status...) and the
    whole NotificationContainer."""

    type: str
    container: dict[str, Any]

    def entries(self, name: str) -> list[dict[str, Any]]:
        """The container's array `name` (TimelineEntry, PlaySessionStateNotification...)."""
        found = self.container.get(name)
        return (
            [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []
        )


def read(
    session: requests.Session,
    url: str,
    *,
    headers: dict[str, str],
    server: str,
    connect_timeout: float,
    idle_timeout: float,
    on_open: Callable[[requests.Response], None] | None = None,
) -> Generator[Notification, None, None]:
    """The stream's notifications as they come, until it ends (PlexUnavailable) or the caller
    stops iterating (the connection is closed then). `on_open` is told once the stream is
    open, with the response: closing it from another thread ends a stream that is waiting."""
    try:
        response = session.get(
            url,
            headers={**headers, "Accept": "text/event-stream"},
            timeout=(connect_timeout, idle_timeout),
            allow_redirects=False,
            stream=True,
        )
    except (requests.Timeout, requests.ConnectionError):
        raise PlexUnavailable(f"Plex at {server} did not open its notification stream.") from None
    with response:
        raise_for_status(response.status_code, server=server, path=PATH)
        if on_open is not None:
            on_open(response)
        data: list[bytes] = []
        size = 0
        for line in _lines(response, server):
            if not line:  # the blank line that ends an event
                if data:
                    notification = _parse(b"\n".join(data), server)
                    data, size = [], 0
                    if notification is not None:
                        yield notification
                continue
            if line.startswith(b"data:"):
                chunk = line[5:].removeprefix(b" ")
                size += len(chunk)
                if size > MAX_EVENT_BYTES:
                    raise PlexBadResponse(f"Plex at {server} sent a notification over 1 MB.")
                data.append(chunk)
            # Other fields (event:, id:, retry:) and comments (":") carry nothing MediaNest
            # needs: the type is inside the data.
    raise PlexUnavailable(f"Plex at {server} closed its notification stream.")


def interrupt(response: requests.Response) -> None:
    """End a stream from another thread, at once: closing alone would leave a read that is
    waiting on the socket to wait for Plex's next ping."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    response.close()


def _lines(response: requests.Response, server: str) -> Iterator[bytes]:
    """Lines without their endings, each at most MAX_EVENT_BYTES."""
    pending = b""
    raw = response.raw
    while True:
        try:
            chunk = raw.read1(65536, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise PlexUnavailable(f"Plex at {server}'s notification stream went silent.") from None
        except (urllib3.exceptions.HTTPError, OSError):
            raise PlexUnavailable(f"Plex at {server}'s notification stream broke off.") from None
        except (AttributeError, ValueError):
            # Closed from another thread while waiting (urllib3 drops its file object).
            raise PlexUnavailable(f"Plex at {server}'s notification stream was closed.") from None
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.replace(b"\r\n", b"\n").split(b"\n")
        if len(pending) > MAX_EVENT_BYTES:
            raise PlexBadResponse(f"Plex at {server} sent a notification line over 1 MB.")
        yield from lines


def _parse(data: bytes, server: str) -> Notification | None:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise PlexBadResponse(f"Plex at {server} sent a notification that is not JSON.") from None
    container = document.get("NotificationContainer") if isinstance(document, dict) else None
    if not isinstance(container, dict):
        return None  # not a notification (a ping's payload): nothing to act on
    return Notification(str(container.get("type") or ""), container)
