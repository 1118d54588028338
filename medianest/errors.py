"""Site-wide error pages that say what to do: a host name MediaNest was not told about, and a
form refused because the browser dropped Secure cookies over plain http.

Both are what a self-hoster meets first when opening MediaNest by its LAN name
(`http://nas.local:8000`): each page names the setting that fixes it, and nothing else of the
configuration. Everything shown from the request is escaped by the template and shortened.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render

from medianest.middleware import is_loopback
from plex.client import PlexNotFound

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
SHOWN_HOST_MAX = 100  # characters of a Host header put on a page or in a log line


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400. A refused Host header gets its own page; any other 400 the plain one."""
    if isinstance(exception, DisallowedHost):
        return _unknown_host(request)
    return render(request, "400.html", status=400)


def _unknown_host(request: HttpRequest) -> HttpResponse:
    # get_host() is what refused it (never call it here); the header is what the browser sent.
    host = request.META.get("HTTP_HOST", "")[:SHOWN_HOST_MAX]
    domain, _ = split_domain_port(host)
    # A name that is not a host name at all gets no "set this" advice: there is nothing to set.
    suggested = f"{request.scheme}://{host}" if domain else ""
    logger.warning(
        "Refused a request for host %r: it is not in MEDIANEST_URL (or ALLOWED_HOSTS)%s",
        host,
        f"; to serve it, set MEDIANEST_URL={suggested}" if suggested else "",
    )
    context = {"host": host, "suggested_url": suggested}
    return render(request, "errors/unknown_host.html", context, status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404. The API answers in JSON, as its views do (`{"detail", "code"}`); a path
    that cannot name anything there (`items/abc`) is Plex's "not found" like any other."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": PlexNotFound.public_message, "code": "plex_not_found"}, status=404
        )
    return render(request, "404.html", status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: why a form was refused, in the site's look."""
    origin = _browser_origin(request)
    insecure = (
        reason == REASON_NO_CSRF_COOKIE
        and settings.CSRF_COOKIE_SECURE
        and origin.startswith("http://")
        and not is_loopback(urlsplit(origin).netloc)
    )
    if insecure:
        logger.warning(
            "A form from %s was refused: cookies are Secure (HTTPS only) and the browser is on "
            "plain http. Serve MediaNest over HTTPS, or set SECURE_COOKIES=0 on a trusted LAN.",
            origin[:SHOWN_HOST_MAX],
        )
    context = {"insecure_cookies": insecure, "origin": origin[:SHOWN_HOST_MAX]}
    return render(request, "errors/csrf.html", context, status=403)


def _browser_origin(request: HttpRequest) -> str:
    """The scheme and host the browser shows, which behind a proxy may differ from what Django
    sees: the Origin header of the form's POST, else the Referer's."""
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        return origin
    referer = urlsplit(request.headers.get("Referer", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else ""
