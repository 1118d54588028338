"""The Plex Media Server client: no Django here, so the emulator's tests and the benchmark use it
as it is. See client.py for the one request path, errors.py for the exception tree."""

from .breaker import PlexBreaker, make_breaker
from .client import CHOICE_FIELDS, FILTER_FIELDS, PlexClient, type_id
from .errors import (
    PlexAuthError,
    PlexBadRequest,
    PlexBadResponse,
    PlexError,
    PlexForbidden,
    PlexNotFound,
    PlexUnavailable,
)
from .guard import Guard
from .limiter import FleetLimiter
from .session import make_session
from .types import (
    TYPE_IDS,
    FilterChoice,
    Image,
    Library,
    MediaItem,
    Page,
    ServerIdentity,
    ServerInfo,
)

__all__ = [
    "CHOICE_FIELDS",
    "FILTER_FIELDS",
    "TYPE_IDS",
    "FilterChoice",
    "FleetLimiter",
    "Guard",
    "Image",
    "Library",
    "MediaItem",
    "Page",
    "PlexAuthError",
    "PlexBadRequest",
    "PlexBadResponse",
    "PlexBreaker",
    "PlexClient",
    "PlexError",
    "PlexForbidden",
    "PlexNotFound",
    "PlexUnavailable",
    "ServerIdentity",
    "ServerInfo",
    "make_breaker",
    "make_session",
    "type_id",
]
