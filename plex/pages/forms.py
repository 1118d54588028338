"""The pages' query strings as Django forms: a value a page cannot use is a 400 page that says
what is wrong (BadQuery), and a missing one takes its default."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.http import QueryDict

from plex.vocabulary import SEARCH_MAX_LENGTH, SEARCH_TYPES, SORTS

MAX_PAGE = 100_000
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


class LibraryForm(PageForm):
    sort = forms.ChoiceField(
        choices=SORTS,
        required=False,
        error_messages={
            "invalid_choice": "Sort by one of: " + ", ".join(label for _, label in SORTS) + "."
        },
    )

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or SORTS[0][0]


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


def read(form_class: type[forms.Form], query: QueryDict) -> dict[str, Any]:
    """The cleaned values of `query`, or BadQuery with the first problem found."""
    form = form_class(query)
    if not form.is_valid():
        first = next(iter(form.errors.values()))
        raise BadQuery(first[0])
    return form.cleaned_data
