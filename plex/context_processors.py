"""What every template may use of the shared vocabulary (base.html's search box)."""

from __future__ import annotations

from django.http import HttpRequest

from plex.vocabulary import SEARCH_MAX_LENGTH


def vocabulary(request: HttpRequest) -> dict[str, object]:
    return {"search_max_length": SEARCH_MAX_LENGTH}
