from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class PerUserThrottle(UserRateThrottle):
    """Per-user request rate (API_THROTTLE_RATE). Counts live in the cache; when the cache is
    down the request is let through: a throttle must not turn a Redis outage into errors."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache backend's own errors
            logger.debug("Throttle skipped, cache unavailable: %s", exc)
            return True
