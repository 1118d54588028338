"""Attempts per client address, for the views anyone may call without signing in: starting a
Plex sign-in (each one creates a PIN at plex.tv and a session row) and the admin's password
login. The counts live in Django's cache (Redis in production, so every worker shares them).

Over the limit, the answer is a 429 page that says when to try again, with Retry-After. A
cache that is down lets attempts through: the limit protects, it must never lock people out.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from plex.connections import current

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/hour" -> (30 attempts, 3600 seconds). Read as DRF reads API_THROTTLE_RATE (by the
    period's first letter); settings.py has checked the form of both at start-up."""
    count, _, period = rate.partition("/")
    return int(count), _SECONDS[period[0]]


def client_address(request: HttpRequest) -> str:
    """Who is asking, as far as this server can tell: the address of the peer, or behind a
    proxy that ends TLS (BEHIND_HTTPS_PROXY) the last X-Forwarded-For entry, which that proxy
    added (entries before it are the client's to forge). IPv6 clients are counted by /64,
    the block one household gets."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        address = forwarded or address
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def rate_limited(scope: str, rate: str | None = None) -> Callable[[View], View]:
    """Limit the POSTs to a view to `rate` (default SIGNIN_RATE) per client address."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if request.method == "POST":
                retry_after = _over_limit(scope, client_address(request), rate)
                if retry_after is not None:
                    return _too_many(request, retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _over_limit(scope: str, address: str, rate: str | None) -> int | None:
    """Counts this attempt; the seconds until the next window when it is one too many."""
    limit, period = parse_rate(rate or settings.SIGNIN_RATE)
    now = time.time()
    window = int(now // period)
    key = f"ratelimit:{scope}:{address}:{window}"

    def count_attempt() -> int:
        cache.add(key, 0, timeout=period + 1)
        try:
            return cache.incr(key)
        except ValueError:  # expired between the two calls: this attempt starts a new count
            cache.add(key, 1, timeout=period + 1)
            return 1

    count, cache_ok = current().guard.call(count_attempt)
    if not cache_ok:
        return None  # logged by the guard
    if count <= limit:
        return None
    if count == limit + 1:
        logger.warning("Too many %s attempts from %s: refused until the next window", scope,
                       address)  # fmt: skip
    return max(1, math.ceil((window + 1) * period - now))


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = math.ceil(retry_after / 60)
    when = (
        f"{retry_after} seconds"
        if retry_after < 120
        else f"{minutes} minutes"
        if minutes < 120
        else f"{math.ceil(minutes / 60)} hours"
    )
    response = render(request, "errors/rate_limited.html", {"when": when}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
