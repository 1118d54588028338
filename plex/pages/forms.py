"""The pages' query strings as Django forms: a value a page cannot use is a 400 page that says
what is wrong (BadQuery), and a missing one takes its default."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from django import forms
from django.http import HttpRequest, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

from plex.client import CHOICE_FIELDS, FilterChoice
from plex.vocabulary import SEARCH_MAX_LENGTH, SEARCH_TYPES, SORTS

MAX_PAGE = 100_000
F = TypeVar("F", bound=forms.Form)
_PAGE = re.compile(r"[0-9]{1,6}")  # ASCII digits only, not "²" (which int() refuses)


class BadQuery(Exception):
    """A query parameter the page cannot use: answered with a 400 page naming it."""


class PageNumberField(forms.CharField):
    def clean(self, value: Any) -> int:
        raw = (super().clean(value) or "").strip() or "1"
        if not _PAGE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
            raise forms.ValidationError(
                f"“{raw[:20]}” is not a page number. Pages are numbered from 1."
            )
        return int(raw)


class PageForm(forms.Form):
    page = PageNumberField(required=False)


# The library page's filters, in the order the form shows them. The query string uses the
# API's (Plex's) names, so a filtered page's address reads like the API call that matches it.
FILTER_LABELS = {
    "genre": "Genre",
    "decade": "Decade",
    "year": "Year",
    "contentRating": "Content rating",
}


class LibraryForm(PageForm):
    sort = forms.ChoiceField(
        choices=SORTS,
        required=False,
        error_messages={
            "invalid_choice": "Sort by one of: " + ", ".join(label for _, label in SORTS) + "."
        },
    )

    # "Unwatched only": a checkbox sends 1; 0 (or nothing) is everything.
    unwatched = forms.ChoiceField(
        choices=[("", ""), ("0", "0"), ("1", "1")],
        required=False,
        error_messages={"invalid_choice": "Unwatched only is unwatched=1 (or left out)."},
    )

    def __init__(self, data: QueryDict, choices: Mapping[str, list[FilterChoice]]) -> None:
        """`choices` are the library's own (PlexService.filter_choices): a value it does not
        list is refused by name, as the API refuses it, rather than shown as "nothing
        matches"."""
        super().__init__(data)
        for name in CHOICE_FIELDS:
            label = FILTER_LABELS[name]
            self.fields[name] = forms.ChoiceField(
                choices=[
                    ("", ""),
                    *((choice.value, choice.title) for choice in choices.get(name, [])),
                ],
                required=False,
                error_messages={
                    "invalid_choice": f"This library has no {label.lower()} “%(value)s”."
                },
            )

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or SORTS[0][0]

    def filters(self) -> dict[str, str]:
        """The filters asked for, in Plex's names and values (unset ones left out), as
        PlexService.library_items takes them."""
        wanted = {
            name: self.cleaned_data[name] for name in CHOICE_FIELDS if self.cleaned_data[name]
        }
        if self.cleaned_data["unwatched"] == "1":
            wanted["unwatched"] = "1"
        return wanted


class SearchForm(forms.Form):
    q = forms.CharField(required=False, strip=False)
    type = forms.ChoiceField(
        choices=[("", "Everything"), *SEARCH_TYPES],
        required=False,
        error_messages={
            "invalid_choice": "Search for one of: "
            + ", ".join(label for _, label in SEARCH_TYPES)
            + "."
        },
    )

    def clean_q(self) -> str:
        text = " ".join(self.cleaned_data["q"].split())  # as typed, spaces tidied
        if len(text) > SEARCH_MAX_LENGTH:
            raise forms.ValidationError(f"Search for at most {SEARCH_MAX_LENGTH} characters.")
        return text

    def clean_type(self) -> str | None:
        return self.cleaned_data["type"] or None


class MarkWatchedForm(forms.Form):
    """The item page's one button: watched=1 marks it watched, watched=0 unwatched. The state
    wanted is in the form, never "the opposite of now": a double click sets it twice, not
    back."""

    watched = forms.ChoiceField(
        choices=[("1", "1"), ("0", "0")],
        error_messages={
            "required": "Say watched=1 or watched=0.",
            "invalid_choice": "Say watched=1 or watched=0.",
        },
    )

    def clean_watched(self) -> bool:
        return self.cleaned_data["watched"] == "1"


def read(form_class: type[forms.Form], query: QueryDict, **options: Any) -> dict[str, Any]:
    """The cleaned values of `query`, or BadQuery with the first problem found."""
    return valid(form_class(query, **options)).cleaned_data


def valid(form: F) -> F:
    """`form`, validated, or BadQuery with the first problem found."""
    if not form.is_valid():
        first = next(iter(form.errors.values()))
        raise BadQuery(first[0])
    return form


def next_url(request: HttpRequest) -> str | None:
    """A form's `next`, when it is a page of this site (never another site's address: an
    open redirect would lend MediaNest's name to any link)."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if wanted and allowed else None
