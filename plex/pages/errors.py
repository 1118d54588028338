"""Plex errors as pages, in one place: every page view is wrapped in `plex_page`.

PlexTokenInvalid                    -> signed out, sign-in page with a message
PlexTokenMissing                    -> a 403 page with the "Sign in with Plex" button
PlexForbidden                       -> a 403 page: Plex keeps this from the user's account
PlexNotFound                        -> the site's 404 page
PlexUnavailable (nothing cached)    -> outage page, 503 with Retry-After
PlexBadResponse, other Plex errors  -> outage page, 502
PlexNotConfigured                   -> "an administrator must set up Plex", 503
BadQuery (a page's own parameters)  -> a 400 page naming the problem
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from plex.client import (
    PlexAuthError,
    PlexBadResponse,
    PlexError,
    PlexForbidden,
    PlexNotFound,
    PlexUnavailable,
)
from plex.pages.forms import BadQuery, next_url
from plex.services import PlexNotConfigured, PlexTokenMissing, public_server_name

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def plex_page(view: View) -> View:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except BadQuery as exc:
            response = _message(request, "That address is not quite right", str(exc), 400)
        except PlexError as exc:
            response = plex_error_page(request, exc)
        # Each page is one user's view of Plex: a shared proxy must not keep it.
        response.setdefault("Cache-Control", "private, no-cache")
        return response

    return wrapped


def plex_error_page(request: HttpRequest, exc: PlexError) -> HttpResponse:
    if isinstance(exc, PlexTokenMissing):
        # Rendered here rather than redirected: the sign-in page sends a signed-in user on to
        # `next`, which would send them back (a loop), and signing out a staff user who has
        # no Plex token would end their admin session for nothing.
        return _message(request, "Sign in with Plex", exc.public(), 403, plex_signin=True)
    if isinstance(exc, PlexAuthError):  # PlexTokenInvalid is one
        # Signed out first: the sign-in page sends a signed-in user on to `next`, which would
        # send them back here. Their session stood for a Plex sign-in Plex no longer accepts.
        # The message outlives the session (the cookie message storage is tried first).
        logout(request)
        messages.error(request, exc.public())
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('accounts:signin')}?{query}")
    if isinstance(exc, PlexNotFound):
        # Raised, not rendered: Django's 404 handler renders the site's 404.html.
        raise Http404("Not on the Plex server, or not shared with you.") from exc
    if isinstance(exc, PlexForbidden):
        return _message(request, "Not for your account", exc.public(public_server_name()), 403)
    if isinstance(exc, PlexNotConfigured):
        return _message(
            request,
            "MediaNest is not set up yet",
            "An administrator must set up the Plex server before there is anything to browse.",
            503,
            admin_link=True,
        )
    if isinstance(exc, PlexUnavailable):
        response = _outage(request, 503, exc.public(public_server_name()))
        response["Retry-After"] = str(exc.retry_after)
        return response
    if not isinstance(exc, PlexBadResponse):
        # A refusal the pages never provoke (a 400 from Plex): worth a look by an operator.
        logger.warning("Unexpected Plex error on %s: %s", request.path, exc)
    return _outage(request, 502, PlexBadResponse.public_message.format(server=public_server_name()))


def _outage(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    context: dict[str, Any]
    if request.method in ("GET", "HEAD"):
        context = {"reason": reason, "retry_url": request.get_full_path()}
    else:
        # A form's POST (mark as watched) that Plex did not take: nothing changed, and "Try
        # again" is the page the form is on (its `next`), not this address, which takes POSTs.
        context = {"reason": reason, "retry_url": next_url(request), "unchanged": True}
    return render(request, "pages/outage.html", context, status=status)


def _message(
    request: HttpRequest,
    title: str,
    text: str,
    status: int,
    admin_link: bool = False,
    plex_signin: bool = False,
) -> HttpResponse:
    context = {
        "heading": title,
        "text": text,
        "admin_link": admin_link,
        "plex_signin": plex_signin,
        "next": request.get_full_path(),
    }
    return render(request, "pages/message.html", context, status=status)
