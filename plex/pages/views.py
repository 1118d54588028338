"""The browsing pages: each asks PlexService for the signed-in user's own view of Plex and
hands the typed values to a template. Errors become pages in errors.py; words, pagination and
the stale notice come from display.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from plex.cache import Cached
from plex.client import Library, PlexNotFound
from plex.links import play_url
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
    watching = service.continue_watching(limit=12)
    recent = service.recently_added(limit=24)
    return _render(
        request,
        "pages/home.html",
        [libraries, watching, recent],
        libraries=libraries.value,
        continue_watching=watching.value,
        continue_watching_cards=display.cards(watching),
        recent=recent.value,
        recent_cards=display.cards(recent),
    )


# Libraries whose items have a watch state: the others get no "Unwatched only".
WATCHABLE = frozenset({"movie", "show"})


def _tidy_url(request: HttpRequest) -> str | None:
    """The address without its empty parameters, or None when it has none. A GET form sends
    every select, "Any genre" as `genre=`: the page redirects once to the short address, the
    one worth sharing and the one pagination and the sort menu link to."""
    query = request.GET.copy()
    empty = [name for name, values in query.lists() if not any(values)]
    if not empty:
        return None
    for name in empty:
        del query[name]
    return f"{request.path}?{query.urlencode()}" if query else request.path


@page_view
def library(request: HttpRequest, key: str) -> HttpResponse:
    tidy = _tidy_url(request)
    if tidy is not None:
        return redirect(tidy)
    service = PlexService.for_user(request.user)
    libraries = service.libraries()
    section = _library(libraries.value, key)
    # The choices are cached for everyone's library alike (no counts): cheap on every page.
    choices = service.filter_choices(key)
    form = forms.valid(forms.LibraryForm(request.GET, choices.value))
    number, sort, filters = form.cleaned_data["page"], form.cleaned_data["sort"], form.filters()
    items = service.library_items(
        key, display.offset_of(number), display.PER_PAGE, sort, filters=filters
    )
    page = items.value
    if display.out_of_range(number, page.total_size):
        raise Http404(f"{section.title} has no page {number}.")
    sort_param = "" if sort == SORTS[0][0] else sort  # default sort: shorter URLs
    # Pagination and the sort menu keep the filters; "Clear filters" keeps the sort.
    kept = {"sort": sort_param, **filters}
    clear_url = f"{request.path}?{urlencode({'sort': sort_param})}" if sort_param else request.path
    return _render(
        request,
        "pages/library.html",
        [libraries, choices, items],
        library=section,
        items=page.items,
        cards=display.cards(items),
        count=display.count_label(page.total_size, section.type),
        noun=display.plural_noun(section.type),
        sort=sort,
        sort_param=sort_param,
        sorts=SORTS,
        filter_fields=display.filter_fields(choices, filters),
        filters=filters,
        unwatched=filters.get("unwatched") == "1",
        watchable=section.type in WATCHABLE,
        clear_url=clear_url,
        pagination=display.paginate(number, page.total_size, request.path, kept),
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
        cards=display.cards(found),
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
        cards=display.cards(items),
        count=f"{page.total_size:,} item{'s' if page.total_size != 1 else ''}",
        pagination=display.paginate(number, page.total_size, request.path, {}),
    )


# Kinds whose children the item page lists: a show's seasons, a season's episodes...
CHILDREN_OF = {"show": "Seasons", "season": "Episodes", "artist": "Albums", "album": "Tracks"}
# ...and whose children it lists as rows (item.html), not as cards.
LISTED_AS_ROWS = frozenset({"season", "album"})


@page_view
def item(request: HttpRequest, rating_key: str) -> HttpResponse:
    service = PlexService.for_user(request.user)
    found = service.metadata(rating_key)
    media = found.value
    if media.type == "collection":
        return redirect("pages:collection", rating_key=rating_key)
    results: list[Cached[Any]] = [found]
    children = children_cards = None
    if media.type in CHILDREN_OF:
        listed = service.children(rating_key)
        results.append(listed)
        children = listed.value
        if media.type not in LISTED_AS_ROWS:
            children_cards = display.cards(listed)
    libraries = service.libraries()
    results.append(libraries)
    return _render(
        request,
        "pages/item.html",
        results,
        item=media,
        library=_library_or_none(libraries.value, media.library_section_id),
        children=children,
        children_cards=children_cards,
        children_label=CHILDREN_OF.get(media.type, ""),
        play_url=play_url(service.config.machine_identifier, media.rating_key),
    )


@require_POST
def mark_watched(request: HttpRequest, rating_key: str) -> HttpResponse:
    """The item page's "Mark as watched" / "Mark as unwatched" button: on Plex, for this user
    alone, then back to the page (303, so a reload does not post again)."""
    if not request.user.is_authenticated:
        # A form posted after the session ended: sign in, then back to the item's page (this
        # address only takes the form, so it cannot be the `next`).
        return redirect_to_login(reverse("pages:item", args=[rating_key]))
    return _mark_watched(request, rating_key)


@plex_page
def _mark_watched(request: HttpRequest, rating_key: str) -> HttpResponse:
    watched = forms.read(forms.MarkWatchedForm, request.POST)["watched"]
    # A Plex error raises here, before any message: the error page says nothing changed.
    PlexService.for_user(request.user).mark_watched(rating_key, watched)
    messages.success(request, "Marked as watched." if watched else "Marked as unwatched.")
    back = forms.next_url(request) or reverse("pages:item", args=[rating_key])
    return HttpResponseRedirect(back, status=303)


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
