"""GET /healthz: can this process serve? For load balancers and Docker's HEALTHCHECK.

200 when the database answers (MediaNest can serve, from Plex or the cache); 503 when it does
not. The cache and Plex's circuit are reported but do not fail the check: without Redis the
app asks Plex directly, and with Plex down it serves cached pages. No auth, no secrets.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from plex.connections import breaker_for, current
from plex.models import ServiceConfig

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except (DatabaseError, InterfaceError) as exc:
        logger.warning("Health check: database unavailable: %s", exc)
        report["database"] = "unavailable"

    def round_trip() -> bool:
        cache.set("healthz", "ok", timeout=5)
        return cache.get("healthz") == "ok"

    answered, cache_ok = current().guard.call(round_trip, False)
    report["cache"] = "ok" if cache_ok and answered else "unavailable"
    report["plex"] = _plex_circuit() if report["database"] == "ok" else "unknown"
    healthy = report["database"] == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **report}, status=200 if healthy else 503
    )


def _plex_circuit() -> str:
    config = ServiceConfig.objects.active()
    if config is None:
        return "not configured"
    return breaker_for(config.address).current_state  # closed, open or half-open
