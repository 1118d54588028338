from __future__ import annotations

from typing import Any

from rest_framework.throttling import UserRateThrottle

from plex.connections import current


class PerUserThrottle(UserRateThrottle):
    """Per-user request rate (API_THROTTLE_RATE). Counts live in the cache; when the cache is
    down (or was a moment ago) the request is let through at once: a throttle must not turn a
    Redis outage into errors, nor a hung Redis into a socket timeout per request."""

    def allow_request(self, request: Any, view: Any) -> bool:
        allowed, cache_ok = current().guard.call(
            lambda: super(PerUserThrottle, self).allow_request(request, view)
        )
        return allowed if cache_ok else True
