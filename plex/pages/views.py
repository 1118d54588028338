"""The browsing pages: each asks PlexService for the signed-in user's own view of Plex and
hands the typed values to a template. Errors become pages in errors.py; words, pagination and
the stale notice come from display.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from plex.cache import Cached
from plex.client import Library, PlexNotFound
from plex.pages import display, forms
from plex.pages.errors import plex_page
from plex.services import PlexService
from plex.vocabulary import SEARCH_TYPES, SORTS

View = Callable[..., HttpResponse]


def page_view(view: View) -> View:
    """Signed in (else the sign-in page, with ?next=), Plex errors as pages."""
    return login_required(plex_page(view))


def _render(
    request: HttpRequest, template: str, results: list[Cached[Any]], **context: Any
) -> HttpResponse:
    """Render with the stale banner when any answer the page used is a last good copy."""
    context["stale_notice"] = display.stale_notice(results)
    return render(request, template, context)


def _library(libraries: list[Library], key: str) -> Library:
    for library in libraries:
        if library.key == key:
            return library
    raise PlexNotFound(f"No library {key} for this user.")


def _library_or_none(libraries: list[Library], key: str) -> Library | None:
    return next((library for library in libraries if library.key == key), None)


@page_view
def home(request: HttpRequest) -> HttpResponse:
    service = PlexService.for_user(request.user)
    libraries = service.libraries()
    recent = service.recently_added(limit=24)
    return _render(
        request,
        "pages/home.html",
        [libraries, recent],
        libraries=libraries.value,
        recent=recent.value,
    )


@page_view
def library(request: HttpRequest, key: str) -> HttpResponse:
    query = forms.read(forms.LibraryForm, request.GET)
    number, sort = query["page"], query["sort"]
    service = PlexService.for_user(request.user)
    libraries = service.libraries()
    section = _library(libraries.value, key)
    items = service.library_items(key, display.offset_of(number), display.PER_PAGE, sort)
    page = items.value
    if display.out_of_range(number, page.total_size):
        raise Http404(f"{section.title} has no page {number}.")
    sort_param = "" if sort == SORTS[0][0] else sort  # default sort: shorter URLs
    return _render(
        request,
        "pages/library.html",
        [libraries, items],
        library=section,
        items=page.items,
        count=display.count_label(page.total_size, section.type),
        sort=sort,
        sorts=SORTS,
        pagination=display.paginate(number, page.total_size, request.path, {"sort": sort_param}),
    )


@page_view
def collections(request: HttpRequest, key: str) -> HttpResponse:
    service = PlexService.for_user(request.user)
    libraries = service.libraries()
    section = _library(libraries.value, key)
    found = service.collections(key)
    return _render(
        request,
        "pages/collections.html",
        [libraries, found],
        library=section,
        collections=found.value,
    )


@page_view
def collection(request: HttpRequest, rating_key: str) -> HttpResponse:
    number = forms.read(forms.PageForm, request.GET)["page"]
    service = PlexService.for_user(request.user)
    found = service.metadata(rating_key)
    if found.value.type != "collection":
        return redirect("pages:item", rating_key=rating_key)
    items = service.collection_items(rating_key, display.offset_of(number), display.PER_PAGE)
    page = items.value
    if display.out_of_range(number, page.total_size):
        raise Http404(f"{found.value.title} has no page {number}.")
    libraries = service.libraries()
    return _render(
        request,
        "pages/collection.html",
        [found, items, libraries],
        collection=found.value,
        library=_library_or_none(libraries.value, found.value.library_section_id),
        items=page.items,
        count=f"{page.total_size:,} item{'s' if page.total_size != 1 else ''}",
        pagination=display.paginate(number, page.total_size, request.path, {}),
    )


# Kinds whose children the item page lists: a show's seasons, a season's episodes...
CHILDREN_OF = {"show": "Seasons", "season": "Episodes", "artist": "Albums", "album": "Tracks"}


@page_view
def item(request: HttpRequest, rating_key: str) -> HttpResponse:
    service = PlexService.for_user(request.user)
    found = service.metadata(rating_key)
    media = found.value
    if media.type == "collection":
        return redirect("pages:collection", rating_key=rating_key)
    results: list[Cached[Any]] = [found]
    children = None
    if media.type in CHILDREN_OF:
        listed = service.children(rating_key)
        results.append(listed)
        children = listed.value
    libraries = service.libraries()
    results.append(libraries)
    return _render(
        request,
        "pages/item.html",
        results,
        item=media,
        library=_library_or_none(libraries.value, media.library_section_id),
        children=children,
        children_label=CHILDREN_OF.get(media.type, ""),
    )


@page_view
def search(request: HttpRequest) -> HttpResponse:
    search = forms.read(forms.SearchForm, request.GET)
    query, kind = search["q"], search["type"]
    results: list[Cached[Any]] = []
    groups = None
    if query:
        found = PlexService.for_user(request.user).search(query, kind, display.SEARCH_LIMIT)
        results.append(found)
        groups = display.group_results(found.value)
    return _render(
        request,
        "pages/search.html",
        results,
        search_query=query,
        search_type=kind or "",
        search_types=SEARCH_TYPES,
        groups=groups,
    )
