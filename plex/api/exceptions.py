"""The API's edge: Plex errors become DRF errors with a status, a `detail` and a `code`.

    {"detail": "Plex at 10.0.0.2:32400 is not answering; ...", "code": "plex_unavailable"}

Validation errors keep DRF's per-field messages under `errors` and name the first parameter in
`detail`, so a script's author sees at once which parameter was wrong.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from plex.client import PlexAuthError, PlexBadResponse, PlexError, PlexNotFound, PlexUnavailable
from plex.services import PlexNotConfigured, PlexTokenInvalid, PlexTokenMissing


class PlexUnavailableError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Plex is not answering; try again shortly."
    default_code = "plex_unavailable"

    def __init__(self, detail: str | None = None, wait: float = 5) -> None:
        super().__init__(detail)
        self.wait = max(1, round(wait))  # DRF's handler turns `wait` into Retry-After


class PlexBadResponseError(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "Plex sent an answer MediaNest could not read."
    default_code = "plex_bad_response"


class PlexNotFoundError(exceptions.NotFound):
    default_detail = "Not found on the Plex server."
    default_code = "plex_not_found"


class PlexTokenInvalidError(exceptions.PermissionDenied):
    default_detail = "Plex no longer accepts your sign-in. Sign in with Plex again."
    default_code = "plex_token_invalid"


class PlexTokenMissingError(exceptions.PermissionDenied):
    default_detail = "Your account has no Plex sign-in yet. Sign in with Plex."
    default_code = "plex_token_missing"


class PlexNotConfiguredError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "No Plex server is set up yet."
    default_code = "plex_not_configured"


def to_api_exception(exc: PlexError) -> exceptions.APIException:
    message = str(exc) or None
    if isinstance(exc, PlexUnavailable):
        return PlexUnavailableError(message, wait=exc.retry_after)
    if isinstance(exc, PlexNotConfigured):
        return PlexNotConfiguredError(message)
    if isinstance(exc, PlexTokenMissing):
        return PlexTokenMissingError(message)
    if isinstance(exc, PlexTokenInvalid | PlexAuthError):
        return PlexTokenInvalidError()
    if isinstance(exc, PlexNotFound):
        # Plex's own wording names Plex paths; the user asked for a MediaNest one.
        return PlexNotFoundError()
    if isinstance(exc, PlexBadResponse):
        return PlexBadResponseError(message)
    # Any other refusal (a 400, an unexpected 403) is Plex misbehaving from the user's side.
    return PlexBadResponseError(message)


def _first_message(errors: Any, prefix: str = "") -> str:
    if isinstance(errors, dict):
        for name, value in errors.items():
            label = name if name != "non_field_errors" else ""
            return _first_message(value, f"{prefix}{label}: " if label else prefix)
    if isinstance(errors, list) and errors:
        return _first_message(errors[0], prefix)
    return f"{prefix}{errors}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, PlexError):
        exc = to_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": _first_message(exc.detail),
            "code": "invalid",
            "errors": exc.detail,
        }
    elif isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
        detail = response.data.get("detail", exc.detail)
        response.data = {"detail": str(detail), "code": getattr(detail, "code", exc.default_code)}
    return response
