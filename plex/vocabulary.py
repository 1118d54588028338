"""The words MediaNest and its users share, defined once for the API, the pages and the
templates: how lists may be sorted, what search may look for, how long a search may be."""

from __future__ import annotations

# (Plex sort value, label), in the order the pages' sort menu offers them; the first is the
# pages' default. The API also takes each field ascending.
SORTS: list[tuple[str, str]] = [
    ("titleSort:asc", "Title"),
    ("addedAt:desc", "Recently added"),
    ("year:desc", "Year"),
    ("rating:desc", "Rating"),
]
API_SORTS: list[str] = [
    f"{field}:{order}"
    for field in ("titleSort", "addedAt", "year", "rating")
    for order in ("asc", "desc")
]

# (Plex type, label): what search may be narrowed to, and the order result groups are shown in.
SEARCH_TYPES: list[tuple[str, str]] = [
    ("movie", "Movies"),
    ("show", "Shows"),
    ("season", "Seasons"),
    ("episode", "Episodes"),
    ("artist", "Artists"),
    ("album", "Albums"),
    ("track", "Tracks"),
    ("collection", "Collections"),
]
# What "recently added" may be narrowed to: the top level of each kind of library.
RECENT_TYPES: list[str] = ["movie", "show", "artist"]

SEARCH_MAX_LENGTH = 200  # characters of a search query
