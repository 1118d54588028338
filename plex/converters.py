"""URL converters: a Plex key in a path is ASCII digits, said once for the API and the pages.

Anything else ("abc", "1.5", "٣") never reaches a view, the cache or the client: Django answers
404 (JSON under /api/, see medianest/errors.py).
"""

from __future__ import annotations

import re

from django.urls import register_converter


class PlexKey:
    regex = "[0-9]{1,20}"

    @classmethod
    def matches(cls, value: str) -> bool:
        return re.fullmatch(cls.regex, value) is not None

    def to_python(self, value: str) -> str:
        return value  # Plex's keys are strings ("28550"); digits only, by the regex

    def to_url(self, value: str | int) -> str:
        return str(value)


register_converter(PlexKey, "plexkey")
