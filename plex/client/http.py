"""The one path for Plex HTTP, shared by the server client and the plex.tv client: send a
request with a timeout, read the answer with a size cap and a deadline, log it at DEBUG, and
turn every failure into the exception tree.

Plex is treated as a peer that may misbehave: a redirect is never followed (it would carry
the token to wherever it points), a body is never read past `max_bytes` nor for longer than
`deadline` seconds however slowly it trickles in, and a body cut short is a bad answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from .errors import (
    PlexAuthError,
    PlexBadRequest,
    PlexBadResponse,
    PlexError,
    PlexForbidden,
    PlexNotFound,
    PlexUnavailable,
)
from .session import RETRY_STATUSES, RETRY_TOTAL

logger = logging.getLogger("plex.client")

PRODUCT = "MediaNest"  # how MediaNest names itself to Plex and plex.tv (X-Plex-Product)

READ_CHUNK = 64 * 1024
# A JSON answer bigger than this is not one MediaNest asked for (a page of 100 items with
# every detail is a few hundred KB).
MAX_JSON_BYTES = 32 * 1024 * 1024
DEFAULT_DEADLINE = 8.0  # seconds from Plex's first byte of an answer to its last


@dataclass(frozen=True, slots=True)
class Answer:
    """A whole 2xx answer: its status, headers and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def json(self, server: str) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:  # UnicodeDecodeError is one
            raise PlexBadResponse(
                f"Plex at {server} sent something that is not JSON "
                f"({self.content_type or 'no content type'})."
            ) from None
        except RecursionError:
            # About a thousand levels deep; a real answer has about six.
            raise PlexBadResponse(f"Plex at {server} sent JSON nested too deeply.") from None


def _attempts(session: requests.Session, method: str, url: str) -> int:
    """How many times the pool tries this request: its adapter's retries (none for a trial
    call or a connection test), and only idempotent methods are retried."""
    if method not in {"GET", "HEAD"}:
        return 1
    retries = getattr(session.get_adapter(url), "max_retries", None)
    total = getattr(retries, "total", RETRY_TOTAL)
    return (total if isinstance(total, int) else RETRY_TOTAL) + 1


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    server: str,
    path: str,
    timeout: float,
    max_bytes: int = MAX_JSON_BYTES,
    deadline: float = DEFAULT_DEADLINE,
    **kwargs: Any,
) -> Answer:
    """`session.request(...)` without following redirects, the status mapped, the body read
    whole within `max_bytes` and `deadline` seconds; returns only a 2xx answer.

    `server` (host:port) and `path` name the request in messages and logs; never the URL, which
    may carry a token in its query.
    """
    started = time.perf_counter()
    attempts = _attempts(session, method, url)
    try:
        response = session.request(
            method,
            url,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
            **kwargs,
        )
    except (requests.Timeout, requests.ConnectionError) as exc:
        # Once urllib3's retries are spent, a timeout arrives as ConnectionError(MaxRetryError)
        # rather than requests.Timeout; its reason tells a slow server from a dead one.
        if isinstance(exc, requests.Timeout) or _timed_out(exc):
            _log(method, path, "timeout", started)
            raise PlexUnavailable(
                f"Plex at {server} did not answer within {timeout:g} s ({attempts} attempts)."
            ) from None
        _log(method, path, "connection error", started)
        reason = "refused the connection" if "refused" in str(exc).lower() else "is unreachable"
        raise PlexUnavailable(f"Plex at {server} {reason} ({attempts} attempts).") from None
    except requests.RequestException as exc:
        _log(method, path, type(exc).__name__, started)
        raise PlexBadResponse(f"Plex at {server} sent a broken response.") from None
    try:
        raise_for_status(response.status_code, server=server, path=path)
        body = _read_body(response, server, max_bytes, deadline)
    except PlexError as exc:
        response.close()  # unread bytes would spoil the connection for the next request
        _log(method, path, f"{response.status_code} ({type(exc).__name__})", started)
        raise
    _log(method, path, response.status_code, started)
    return Answer(response.status_code, response.headers, body)


def raise_for_status(status: int, *, server: str, path: str) -> None:
    # Status first: Plex's error bodies are HTML even when JSON was asked for.
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        # Followed, a redirect would send the token to whatever host it names.
        raise PlexBadResponse(
            f"Plex at {server} answered {path} with a redirect ({status}); not followed.",
            status=status,
        )
    if status == 401:
        raise PlexAuthError(f"Plex at {server} refused the token (401): sign in again.", status=401)
    if status == 403:
        raise PlexForbidden(f"Plex at {server} refused {path} to this token (403).", status=403)
    if status == 404:
        raise PlexNotFound(f"Plex at {server} has no {path} (404).", status=404)
    if status == 400:
        raise PlexBadRequest(f"Plex at {server} refused {path} as invalid (400).", status=400)
    if status == 429:
        # plex.tv's rate limit: a short pause, then the caller may ask again.
        raise PlexUnavailable(
            f"Plex at {server} asks to slow down (429).", retry_after=2, status=429
        )
    if status >= 500:
        tries = f" after {RETRY_TOTAL + 1} attempts" if status in RETRY_STATUSES else ""
        raise PlexUnavailable(f"Plex at {server} is failing ({status}){tries}.", status=status)
    raise PlexError(f"Plex at {server} answered {status} for {path}.", status=status)


def _read_body(response: requests.Response, server: str, max_bytes: int, deadline: float) -> bytes:
    """The body, read as it arrives (read1: whatever is there, never waiting to fill a buffer),
    so that the deadline is checked between reads; each read still waits at most the timeout."""
    ends_at = time.monotonic() + deadline
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > ends_at:
            raise PlexUnavailable(f"Plex at {server} took more than {deadline:g} s to answer.")
        try:
            chunk = raw.read1(READ_CHUNK, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise PlexUnavailable(f"Plex at {server} stopped sending its answer.") from None
        except (urllib3.exceptions.HTTPError, OSError):
            # Cut short (fewer bytes than Content-Length), bad chunking, bad compression.
            raise PlexBadResponse(f"Plex at {server} sent a broken response.") from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise PlexBadResponse(
                f"Plex at {server} sent more than {max_bytes // (1024 * 1024)} MB."
            )
        chunks.append(chunk)


def _log(method: str, path: str, outcome: int | str, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug("%s %s -> %s in %.0f ms", method, path, outcome, elapsed_ms)


def _timed_out(exc: requests.RequestException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError in urllib3 2.
    return isinstance(reason, urllib3.exceptions.TimeoutError) and not isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )
