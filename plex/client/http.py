"""The one path for Plex HTTP, shared by the server client and the plex.tv client: send a
request with a timeout, log it at DEBUG, and turn every failure into the exception tree."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
import urllib3

from .errors import (
    PlexAuthError,
    PlexBadRequest,
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexUnavailable,
)
from .session import RETRY_STATUSES, RETRY_TOTAL

logger = logging.getLogger("plex.client")


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    server: str,
    path: str,
    timeout: float,
    **kwargs: Any,
) -> requests.Response:
    """`session.request(...)`, then the status mapped: returns only a 2xx/3xx response.

    `server` (host:port) and `path` name the request in messages and logs; never the URL, which
    may carry a token in its query.
    """
    started = time.perf_counter()
    attempts = RETRY_TOTAL + 1 if method in {"GET", "HEAD"} else 1
    try:
        response = session.request(method, url, timeout=(timeout, timeout), **kwargs)
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
        # Chunked/decoding errors: the server answered, but not with a whole response.
        _log(method, path, type(exc).__name__, started)
        raise PlexBadResponse(f"Plex at {server} sent a broken response.") from None
    _log(method, path, response.status_code, started)
    raise_for_status(response, server=server, path=path)
    return response


def raise_for_status(response: requests.Response, *, server: str, path: str) -> None:
    # Status first: Plex's error bodies are HTML even when JSON was asked for.
    status = response.status_code
    if status < 400:
        return
    if status == 401:
        raise PlexAuthError(f"Plex at {server} refused the token (401): sign in again.", status=401)
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
