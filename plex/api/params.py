"""Query parameters of the API, validated by serializers: a bad one is a 400 that names it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.request import Request

from plex.services import IMAGE_PATH

SORTS = [
    f"{field}:{order}"
    for field in ("titleSort", "addedAt", "year", "rating")
    for order in ("asc", "desc")
]
SEARCH_TYPES = ["movie", "show", "season", "episode", "artist", "album", "track", "collection"]
RECENT_TYPES = ["movie", "show", "artist"]


class PageParams(serializers.Serializer):
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)


class ItemsParams(PageParams):
    sort = serializers.ChoiceField(choices=SORTS, required=False)
    includeCollections = serializers.BooleanField(default=False)  # Plex's name


class SearchParams(serializers.Serializer):
    q = serializers.CharField(max_length=200, allow_blank=False, trim_whitespace=True)
    type = serializers.ChoiceField(choices=SEARCH_TYPES, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class RecentParams(serializers.Serializer):
    type = serializers.ChoiceField(choices=RECENT_TYPES, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class ImageParams(serializers.Serializer):
    path = serializers.RegexField(
        IMAGE_PATH,
        max_length=200,
        error_messages={
            "invalid": "Only Plex library image paths such as "
            "/library/metadata/123/thumb/1700000000 are accepted."
        },
    )
    width = serializers.IntegerField(
        min_value=16, max_value=settings.PLEX_IMAGE_MAX_SIDE, default=300
    )
    height = serializers.IntegerField(
        min_value=16, max_value=settings.PLEX_IMAGE_MAX_SIDE, default=450
    )


def validated(params: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = params(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
