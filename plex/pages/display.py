"""What the page views hand their templates besides Plex's own values: pagination, counts in
words, the stale-data notice, search results by type and the cards of a grid (query strings:
forms.py).

Plain functions over typed values, so the views stay a few lines each and this is testable
without a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django.template import engines
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe

from plex.cache import Cached
from plex.client import FilterChoice, MediaItem, Page, PlexBadResponse
from plex.pages.forms import FILTER_LABELS
from plex.vocabulary import SEARCH_TYPES

PER_PAGE = 48
SEARCH_LIMIT = 60
# Library type -> (singular, plural) for "2,000 movies".
NOUNS: dict[str, tuple[str, str]] = {
    "movie": ("movie", "movies"),
    "show": ("show", "shows"),
    "artist": ("artist", "artists"),
    "photo": ("photo", "photos"),
}


# -- pagination -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageLink:
    number: int | None  # None: a gap ("…") between the window and the first or last page
    url: str = ""
    current: bool = False


@dataclass(frozen=True, slots=True)
class Pagination:
    number: int
    last: int
    links: list[PageLink]
    previous_url: str | None
    next_url: str | None

    @property
    def needed(self) -> bool:
        return self.last > 1


def paginate(
    number: int, total: int, path: str, params: dict[str, str], window: int = 2
) -> Pagination:
    """Links to the first and last pages and `window` pages either side of `number`; each URL
    keeps the other parameters (the sort), and page 1 is the bare path."""
    last = max(1, -(-total // PER_PAGE))

    def url(page: int) -> str:
        kept = {name: value for name, value in params.items() if value}
        query = urlencode({**kept, "page": page} if page > 1 else kept)
        return f"{path}?{query}" if query else path

    shown = sorted({1, last} | set(range(max(1, number - window), min(last, number + window) + 1)))
    links: list[PageLink] = []
    for page in shown:
        if links and links[-1].number is not None and page - links[-1].number > 1:
            links.append(PageLink(None))
        links.append(PageLink(page, url(page), page == number))
    return Pagination(
        number=number,
        last=last,
        links=links,
        previous_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number < last else None,
    )


def offset_of(number: int) -> int:
    return (number - 1) * PER_PAGE


def out_of_range(number: int, total: int) -> bool:
    """Page 1 of an empty library exists (it says so); page 5 of 2 pages does not."""
    return number > 1 and offset_of(number) >= total


# -- words --------------------------------------------------------------------------------------


def count_label(total: int, library_type: str) -> str:
    singular, plural = NOUNS.get(library_type, ("item", "items"))
    return f"{total:,} {singular if total == 1 else plural}"


def plural_noun(library_type: str) -> str:
    """ "movies", "shows": what "No movies match these filters." names."""
    return NOUNS.get(library_type, ("item", "items"))[1]


# -- library filters ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilterField:
    """One select of the library's filter form: Plex's name for it, its label, the values
    the library lists (value, title), the one chosen ("" for any) and the select's options
    as markup."""

    name: str
    label: str
    options: list[tuple[str, str]]
    selected: str
    options_html: SafeString = mark_safe("")  # noqa: RUF009 (an immutable str)

    @property
    def any_label(self) -> str:
        return "Any rating" if self.name == "contentRating" else f"Any {self.label.lower()}"


def filter_fields(
    choices: Cached[dict[str, list[FilterChoice]]], wanted: dict[str, str]
) -> list[FilterField]:
    """The selects the filter form shows, in FILTER_LABELS' order; a field the library has
    no values for (a music library's years) is left out. The options' markup is made once per
    field and choice while the choices stay cached: a library's years alone are a hundred
    options, most of a warm library page's template time."""
    return [
        choices.remember(_filter_field, name, label, wanted.get(name, ""))
        for name, label in FILTER_LABELS.items()
        if choices.value.get(name)
    ]


def _filter_field(
    choices: dict[str, list[FilterChoice]], name: str, label: str, selected: str
) -> FilterField:
    field = FilterField(
        name, label, [(choice.value, choice.title) for choice in choices[name]], selected
    )
    options = mark_safe(_options_template().render({"field": field}))  # noqa: S308 (escaped)
    return FilterField(field.name, field.label, field.options, field.selected, options)


@cache
def _options_template() -> Any:
    # library.html's options loop, byte for byte.
    template: Any = engines["django"].from_string(
        '<option value=""{% if not field.selected %} selected{% endif %}>'
        "{{ field.any_label }}</option>\n"
        "      {% for value, title in field.options %}\n"
        '      <option value="{{ value }}"{% if value == field.selected %} selected{% endif %}>'
        "{{ title }}</option>\n"
        "      {% endfor %}"
    )
    return template


def stale_notice(results: Iterable[Cached[Any]]) -> str | None:
    """The banner for a page built from the last good copies: why, and how old the oldest is."""
    stale = [result for result in results if result.stale]
    if not stale:
        return None
    oldest = max(result.age for result in stale)
    if oldest < 60:
        when = "less than a minute ago"
    elif oldest < 7200:
        minutes = oldest // 60
        when = f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    else:
        # "1,440 minutes ago" reads worse than hours once it is that old.
        hours = oldest // 3600
        when = f"{hours} hours ago"
    unreadable = any(isinstance(result.error, PlexBadResponse) for result in stale)
    why = "Plex sent answers MediaNest could not read" if unreadable else "Plex is not answering"
    return f"{why}; showing what MediaNest saw {when}."


# -- cards ------------------------------------------------------------------------------------


def cards(result: Cached[Page] | Cached[list[MediaItem]]) -> SafeString:
    """The cards (pages/_poster.html) of a page's or a list's items, as the template's loop
    would render them. Made once per cached answer while this process keeps it decoded
    (plex/cache.py): 48 cards through the template engine were most of a warm library page's
    time. A card is the item's data alone, and URLs under the script prefix."""
    return result.remember(_cards, get_script_prefix())


def _cards(value: Page | list[MediaItem], script_prefix: str) -> SafeString:
    items = value.items if isinstance(value, Page) else value
    return mark_safe(_cards_template().render({"items": items}))  # noqa: S308 (escaped by it)


@cache
def _cards_template() -> Any:
    # The loop the templates had, byte for byte, so the markup is theirs.
    template: Any = engines["django"].from_string(
        '{% for item in items %}{% include "pages/_poster.html" %}{% endfor %}'
    )
    return template


# -- search ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultGroup:
    type: str
    label: str
    items: list[MediaItem]


def group_results(items: Iterable[MediaItem]) -> list[ResultGroup]:
    """Results by type, best match first in each, the groups in the order of their best
    match: Plex orders its hubs by the quality of their results, and so do the pages."""
    by_type: dict[str, list[MediaItem]] = {}  # dicts keep the order kinds first appear in
    for item in items:
        by_type.setdefault(item.type, []).append(item)
    labels = dict(SEARCH_TYPES)
    return [
        ResultGroup(kind, labels.get(kind, kind.title() or "Other"), found)
        for kind, found in by_type.items()
    ]
