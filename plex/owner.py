"""The server owner's token (`ServiceConfig.owner_token`): checked with the server before it
is kept, by `plex_configure --owner-token` and the admin alike.

Only the owner's token reads the notification stream `manage.py plex_events` listens to;
Plex keeps that stream from friends. The check here is the cheap one, the server root with
that token: it catches a mistyped or revoked token and a token for another server.
"""

from __future__ import annotations

from plex.client import PlexAuthError, PlexError, ServerInfo
from plex.connections import client_for
from plex.models import ServiceConfig


class OwnerTokenRefused(Exception):
    """The token cannot be kept; the message says why, for the operator (never the token)."""


def check_owner_token(config: ServiceConfig, token: str) -> ServerInfo:
    """The server's answer to `token`, or OwnerTokenRefused saying why it is not kept."""
    try:
        # GET /: the server root; 401 for a token this server does not accept.
        info = client_for(config.address, token).server_info()
    except PlexAuthError:
        raise OwnerTokenRefused(
            "The Plex server refused this token: it is not a token for this server."
        ) from None
    except PlexError as exc:
        raise OwnerTokenRefused(f"The token could not be checked: {exc}") from None
    if config.machine_identifier and info.machine_identifier != config.machine_identifier:
        # A server answering at this address that is not the one configured (the address was
        # reused, or a proxy points elsewhere): its owner's token is no use for ours.
        raise OwnerTokenRefused(
            "The server at this address is not the configured Plex server any more; "
            "test the connection first."
        )
    return info
