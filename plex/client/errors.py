"""The client's exception tree. Messages are written for people and never contain a token.

PlexError
├── PlexAuthError      401: the token is missing, wrong or revoked
├── PlexNotFound       404: no such section or item (for this token)
├── PlexBadRequest     400: Plex refused the request as malformed
├── PlexUnavailable    network error, timeout, 5xx after retries, or circuit open
└── PlexBadResponse    a body that is not what Plex sends
"""

from __future__ import annotations


class PlexError(Exception):
    """Anything that went wrong talking to Plex. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PlexAuthError(PlexError):
    pass


class PlexNotFound(PlexError):
    pass


class PlexBadRequest(PlexError):
    pass


class PlexBadResponse(PlexError):
    pass


class PlexUnavailable(PlexError):
    """Plex cannot be reached or is failing. `retry_after` is a hint in seconds for the caller
    (the remaining open time of the circuit, or a short default)."""

    def __init__(
        self, message: str, *, retry_after: float = 5.0, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = max(1, round(retry_after))
