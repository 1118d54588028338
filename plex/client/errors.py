"""The client's exception tree. Messages are written for operators (logs, the admin): they name
the server's host and port, never a URL or a token. What users see comes from `public()`,
which names the server by its name instead: the address is not theirs to know.

PlexError
├── PlexAuthError      401: the token is missing, wrong or revoked
├── PlexForbidden      403: Plex refuses this to this token (an owner-only resource)
├── PlexNotFound       404: no such section or item (for this token)
├── PlexBadRequest     400: Plex refused the request as malformed
├── PlexUnavailable    network error, timeout, 5xx after retries, or circuit open
└── PlexBadResponse    an answer MediaNest cannot read: not what Plex sends, a redirect, too
                       big, too slow to arrive whole, an image that does not decode
"""

from __future__ import annotations


class PlexError(Exception):
    """Anything that went wrong talking to Plex. `status` is the HTTP status when there was one."""

    # For people: "{server}" is the server's name ("Plex (Olive's server)"), never its address.
    public_message = "{server} answered something unexpected."

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def public(self, server: str = "Plex") -> str:
        """The message for users, naming the server as `server`."""
        return self.public_message.format(server=server, error=self)


class PlexAuthError(PlexError):
    public_message = "Plex no longer accepts your sign-in. Sign in with Plex again."


class PlexForbidden(PlexError):
    public_message = "{server} does not let your account open this."


class PlexNotFound(PlexError):
    public_message = "Not on the Plex server, or not shared with you."


class PlexBadRequest(PlexError):
    public_message = "{server} refused the request."


class PlexBadResponse(PlexError):
    public_message = "{server} sent an answer MediaNest could not read."


class PlexUnavailable(PlexError):
    """Plex cannot be reached or is failing. `retry_after` is a hint in seconds for the caller
    (the remaining open time of the circuit, or a short default)."""

    public_message = "{server} is not answering; try again in {error.retry_after} s."

    def __init__(
        self, message: str, *, retry_after: float = 5.0, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = max(1, round(retry_after))
