"""The JSON API under /api/v1/plex/: thin views over PlexService.

Each view validates its query (a 400 names the parameter), asks the service for the user's
own view of Plex, and answers with `X-Cache: HIT | MISS | STALE` and, from the cache, `Age`.
Plex errors become DRF errors in plex/api/exceptions.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from plex.api import params
from plex.api.renderers import remember
from plex.api.representations import (
    ErrorSchema,
    FiltersSchema,
    LibrarySchema,
    MediaItemSchema,
    PageSchema,
    ServerSchema,
    filters_json,
    item_json,
    items_json,
    libraries_json,
    page_json,
    server_json,
)
from plex.cache import Cached
from plex.client import CHOICE_FIELDS
from plex.services import PlexService

T = TypeVar("T")

ERRORS = {
    400: OpenApiResponse(ErrorSchema, description="A parameter is invalid; `detail` names it."),
    403: OpenApiResponse(ErrorSchema, description="Not signed in, or Plex rejected the token."),
    404: OpenApiResponse(ErrorSchema, description="No such library or item for this user."),
    502: OpenApiResponse(ErrorSchema, description="Plex answered something unreadable."),
    503: OpenApiResponse(ErrorSchema, description="Plex is unavailable and nothing is cached."),
}
CACHE_HEADERS = [
    OpenApiParameter(
        "X-Cache",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=True,
        enum=["HIT", "MISS", "STALE"],
        description="Where the answer came from.",
    ),
    OpenApiParameter(
        "Age",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=True,
        description="Seconds since MediaNest fetched it from Plex (cached answers).",
    ),
]


def _answer(result: Cached[T], make: Callable[..., Any], *args: Any) -> Response:
    """`make(result.value, *args)` as the answer; made (and rendered) once per cached answer
    while it stays the same (plex/api/renderers.py), so `args` must be all it depends on."""
    response = Response(remember(result, make, *args))
    _mark(response, result)
    return response


def _mark(response: HttpResponse | Response, result: Cached[Any]) -> None:
    response["X-Cache"] = result.state
    if result.state != "MISS":
        response["Age"] = str(result.age)
    # Per-user data: shared caches (proxies) must not keep it.
    response.setdefault("Cache-Control", "private, no-cache")


def _service(request: Request) -> PlexService:
    return PlexService.for_user(request.user)


def _schema(response: Any, query: type | None = None, **kwargs: Any) -> Any:
    return extend_schema(
        responses={200: response, **ERRORS},
        parameters=[*([query] if query else []), *CACHE_HEADERS],
        **kwargs,
    )


@extend_schema(responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
def api_root(request: Request) -> Response:
    """The API's endpoints."""
    return Response(
        {
            "server": reverse("plex-api:server", request=request),
            "libraries": reverse("plex-api:libraries", request=request),
            "search": reverse("plex-api:search", request=request),
            "recentlyAdded": reverse("plex-api:recently-added", request=request),
            "continueWatching": reverse("plex-api:continue-watching", request=request),
            "schema": reverse("schema", request=request),
        }
    )


@_schema(ServerSchema)
@api_view(["GET"])
def server(request: Request) -> Response:
    """The Plex server: name, version, machine identifier."""
    result = _service(request).server_info()
    return _answer(result, server_json)


@_schema(LibrarySchema(many=True))
@api_view(["GET"])
def libraries(request: Request) -> Response:
    """The libraries this user can see."""
    result = _service(request).libraries()
    return _answer(result, libraries_json)


@_schema(PageSchema, params.ItemsParams)
@api_view(["GET"])
def library_items(request: Request, key: str) -> Response:
    """A page of a library's items, sorted, and narrowed by any of its filters (combined)."""
    checked = params.checked(params.ItemsParams, request)
    query, filters = checked.validated_data, checked.filters()
    service = _service(request)
    _check_filter_values(service, key, filters)
    result = service.library_items(
        key,
        query["offset"],
        query["limit"],
        query.get("sort"),
        query["includeCollections"],
        filters,
    )
    return _answer(result, page_json, query["limit"], _server_id(service))


def _check_filter_values(service: PlexService, key: str, filters: dict[str, str]) -> None:
    """A filter value the library does not have is a 400 naming the parameter: Plex would
    answer an empty page, which reads as "nothing matches" rather than "no such genre"."""
    listed = [name for name in filters if name in CHOICE_FIELDS]
    if not listed:
        return
    choices = service.filter_choices(key).value
    for name in listed:
        values = {choice.value for choice in choices.get(name, [])}
        if filters[name] not in values:
            raise ValidationError(
                {name: [f"This library has no {name} {filters[name]!r}; see its filters."]}
            )


@_schema(FiltersSchema)
@api_view(["GET"])
def library_filters(request: Request, key: str) -> Response:
    """What a library's items can be filtered by, with how many items each choice shows
    (null where a field has too many values to count) and how many are unwatched."""
    result = _service(request).filters(key)
    return _answer(result, filters_json)


@_schema(MediaItemSchema(many=True), params.ContinueParams)
@api_view(["GET"])
def continue_watching(request: Request) -> Response:
    """What this user started and did not finish, and the next episode of the shows they
    are watching, most recent first."""
    query = params.validated(params.ContinueParams, request)
    service = _service(request)
    result = service.continue_watching(query["limit"])
    return _answer(result, items_json, _server_id(service))


@extend_schema(
    methods=["POST"], responses={200: MediaItemSchema, **ERRORS}, request=None,
    description="Mark the item watched for this user (a show or season: every episode).",
)  # fmt: skip
@extend_schema(
    methods=["DELETE"], responses={200: MediaItemSchema, **ERRORS}, request=None,
    description="Mark the item unwatched for this user (a show or season: every episode).",
)  # fmt: skip
@api_view(["POST", "DELETE"])
def item_watched(request: Request, rating_key: str) -> Response:
    """Mark an item watched (POST) or unwatched (DELETE) on Plex, for this user alone; the
    answer is the item as Plex now has it."""
    service = _service(request)
    result = service.mark_watched(rating_key, watched=request.method == "POST")
    return _answer(result, item_json, _server_id(service))


def _server_id(service: PlexService) -> str:
    return service.config.machine_identifier


@_schema(MediaItemSchema(many=True))
@api_view(["GET"])
def library_collections(request: Request, key: str) -> Response:
    """The collections of a library."""
    service = _service(request)
    result = service.collections(key)
    return _answer(result, items_json, _server_id(service))


@_schema(PageSchema, params.PageParams)
@api_view(["GET"])
def collection_items(request: Request, rating_key: str) -> Response:
    """A page of a collection's items."""
    query = params.validated(params.PageParams, request)
    service = _service(request)
    result = service.collection_items(rating_key, query["offset"], query["limit"])
    return _answer(result, page_json, query["limit"], _server_id(service))


@_schema(MediaItemSchema)
@api_view(["GET"])
def item(request: Request, rating_key: str) -> Response:
    """One item with its details (genres, directors, cast...)."""
    service = _service(request)
    result = service.metadata(rating_key)
    return _answer(result, item_json, _server_id(service))


@_schema(MediaItemSchema(many=True))
@api_view(["GET"])
def item_children(request: Request, rating_key: str) -> Response:
    """A show's seasons, a season's episodes, an artist's albums, an album's tracks."""
    service = _service(request)
    result = service.children(rating_key)
    return _answer(result, items_json, _server_id(service))


@_schema(MediaItemSchema(many=True), params.SearchParams)
@api_view(["GET"])
def search(request: Request) -> Response:
    """Items matching `q` in every library this user can see, best match first."""
    query = params.validated(params.SearchParams, request)
    service = _service(request)
    result = service.search(query["q"], query.get("type"), query["limit"])
    return _answer(result, items_json, _server_id(service))


@_schema(MediaItemSchema(many=True), params.RecentParams)
@api_view(["GET"])
def recently_added(request: Request) -> Response:
    """The newest items, across the libraries this user can see."""
    query = params.validated(params.RecentParams, request)
    service = _service(request)
    result = service.recently_added(query.get("type"), query["limit"])
    return _answer(result, items_json, _server_id(service))


def _etag_matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110 weak comparison: `*`, or any listed tag equal to ours with or without W/."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


class ImageRenderer(BaseRenderer):
    """Lets a client that accepts only images get one; errors still go out as JSON text."""

    media_type = "image/*"
    format = "image"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return JSONRenderer().render(data)


@extend_schema(
    parameters=[params.ImageParams],
    responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 304: None, **ERRORS},
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, ImageRenderer])
def image(request: Request) -> HttpResponse:
    """A poster or art image of an item this user can see, resized by Plex to the served size
    at or above the one asked for (150, 300, 450, 600, 900, 1200 or 2000 wide)."""
    query = params.validated(params.ImageParams, request)
    result = _service(request).image(query["path"], query["width"], query["height"])
    etag = f'"{hashlib.sha256(result.value.content).hexdigest()[:32]}"'
    if _etag_matches(etag, request.headers.get("If-None-Match", "")):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(result.value.content, content_type=result.value.content_type)
    response["ETag"] = etag
    # Private: the browser may keep it, a shared proxy may not (access is per user). No
    # X-Cache or Age: image bytes are cached per server, and "HIT, 3 s" would tell one user
    # what another just looked at.
    response["Cache-Control"] = "private, max-age=86400"
    return response
