"""The API's edge: Plex errors become DRF errors with a status, a `detail` and a `code`.

    {"detail": "Plex (Olive's server) is not answering; try again in 12 s.",
     "code": "plex_unavailable"}

`detail` names the server by its name: its address (in the exception's own message) is for
the logs and the admin, not for every API client.

Validation errors keep DRF's per-field messages under `errors` and name the first parameter in
`detail`, so a script's author sees at once which parameter was wrong.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from plex.client import (
    PlexAuthError,
    PlexBadResponse,
    PlexError,
    PlexForbidden,
    PlexNotFound,
    PlexUnavailable,
)
from plex.services import PlexNotConfigured, PlexTokenMissing, public_server_name


class PlexUnavailableError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Plex is not answering; try again shortly."
    default_code = "plex_unavailable"

    def __init__(self, detail: str | None = None, wait: float = 5) -> None:
        super().__init__(detail)
        self.wait = max(1, round(wait))  # DRF's handler turns `wait` into Retry-After


class PlexBadResponseError(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = PlexBadResponse.public_message.format(server="Plex")
    default_code = "plex_bad_response"


class PlexNotFoundError(exceptions.NotFound):
    default_detail = PlexNotFound.public_message
    default_code = "plex_not_found"


class PlexForbiddenError(exceptions.PermissionDenied):
    default_detail = PlexForbidden.public_message.format(server="Plex")
    default_code = "plex_forbidden"


class PlexTokenInvalidError(exceptions.PermissionDenied):
    default_detail = PlexAuthError.public_message
    default_code = "plex_token_invalid"


class PlexTokenMissingError(exceptions.PermissionDenied):
    default_detail = PlexTokenMissing.public_message
    default_code = "plex_token_missing"


class PlexNotConfiguredError(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = PlexNotConfigured.public_message
    default_code = "plex_not_configured"


# Most specific first: PlexTokenInvalid is a PlexAuthError.
_API_ERRORS: tuple[tuple[type[PlexError], type[exceptions.APIException]], ...] = (
    (PlexNotConfigured, PlexNotConfiguredError),
    (PlexTokenMissing, PlexTokenMissingError),
    (PlexAuthError, PlexTokenInvalidError),
    (PlexForbidden, PlexForbiddenError),
    (PlexNotFound, PlexNotFoundError),
    (PlexUnavailable, PlexUnavailableError),
    # An unreadable answer, or any other refusal (a 400): Plex misbehaving on the user's side.
    (PlexError, PlexBadResponseError),
)


def to_api_exception(exc: PlexError) -> exceptions.APIException:
    api_error = next(api for plex, api in _API_ERRORS if isinstance(exc, plex))
    message = exc.public(public_server_name())
    if isinstance(exc, PlexUnavailable):
        return PlexUnavailableError(message, wait=exc.retry_after)
    return api_error(message)


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
