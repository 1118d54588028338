"""Query parameters of the API, validated by serializers: a bad one is a 400 that names it."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from rest_framework import serializers
from rest_framework.request import Request

from plex.images import IMAGE_PATH, MAX_SIDE, MIN_SIDE
from plex.vocabulary import API_SORTS, RECENT_TYPES, SEARCH_MAX_LENGTH, SEARCH_TYPES

S = TypeVar("S", bound=serializers.Serializer)


class WholeNumber(serializers.IntegerField):
    """An integer written in ASCII digits. DRF's IntegerField takes whatever int() takes, so
    "٣" would be a second spelling of 3 (and "²" an error of int()'s, not ours)."""

    default_error_messages = {"invalid": "A whole number in digits 0-9 is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not _WHOLE_NUMBER.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")
_DIGITS = re.compile(r"^[0-9]{1,20}$")


class PageParams(serializers.Serializer):
    offset = WholeNumber(min_value=0, max_value=10_000_000, default=0)
    limit = WholeNumber(min_value=1, max_value=100, default=50)


class ItemsParams(PageParams):
    sort = serializers.ChoiceField(choices=API_SORTS, required=False)
    includeCollections = serializers.BooleanField(default=False)  # Plex's name
    # Filters, Plex's names; each value one of the library's own (libraries/KEY/filters).
    genre = serializers.RegexField(
        _DIGITS,
        max_length=20,
        required=False,
        help_text="A genre's value from libraries/KEY/filters",
        error_messages={"invalid": "A genre's value (digits) from libraries/KEY/filters."},
    )
    year = WholeNumber(min_value=1800, max_value=2999, required=False)
    decade = WholeNumber(min_value=1800, max_value=2990, required=False)
    contentRating = serializers.CharField(max_length=40, required=False)  # Plex's name
    unwatched = serializers.BooleanField(
        default=False, help_text="Only what this user has not watched"
    )

    def validate_decade(self, value: int) -> int:
        if value % 10:
            raise serializers.ValidationError("A decade is its first year: 1990, not 1994.")
        return value

    def filters(self) -> dict[str, str]:
        """The filters asked for, as Plex takes them (strings, unset ones left out)."""
        data = self.validated_data
        fields = ("genre", "year", "decade", "contentRating")
        wanted = {name: str(data[name]) for name in fields if name in data}
        if data.get("unwatched"):
            wanted["unwatched"] = "1"
        return wanted


class ContinueParams(serializers.Serializer):
    limit = WholeNumber(min_value=1, max_value=100, default=20)


class SearchParams(serializers.Serializer):
    q = serializers.CharField(max_length=SEARCH_MAX_LENGTH, allow_blank=False, trim_whitespace=True)
    type = serializers.ChoiceField(choices=[kind for kind, _ in SEARCH_TYPES], required=False)
    limit = WholeNumber(min_value=1, max_value=100, default=20)


class RecentParams(serializers.Serializer):
    type = serializers.ChoiceField(choices=RECENT_TYPES, required=False)
    limit = WholeNumber(min_value=1, max_value=100, default=20)


class ImageParams(serializers.Serializer):
    path = serializers.RegexField(
        IMAGE_PATH,
        max_length=200,
        error_messages={
            "invalid": "Only Plex library image paths such as "
            "/library/metadata/123/thumb/1700000000 are accepted."
        },
    )
    width = WholeNumber(min_value=MIN_SIDE, max_value=MAX_SIDE, default=300)
    height = WholeNumber(min_value=MIN_SIDE, max_value=MAX_SIDE, default=450)


def validated(params: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    return checked(params, request).validated_data


def checked(params: type[S], request: Request) -> S:
    serializer = params(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer
