"""GET /healthz: can this process serve? For load balancers and Docker's HEALTHCHECK (readiness).
GET /healthz/live: does this process answer at all? (liveness; also the benchmarks' floor).

200 when the database answers (MediaNest can serve, from Plex or the cache); 503 when it does
not. The cache, Plex's circuit and the event listener (`events`: live, reconnecting or off;
`events_last_event_age`: seconds since Plex's last event, or null) are reported but do not fail
the check: without Redis the app asks Plex directly, with Plex down it serves cached pages, and
without the listener cached answers live their ordinary TTLs. No auth, no secrets.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from plex.connections import breaker_for, current
from plex.models import ServiceConfig
from plex.services import freshness_for

logger = logging.getLogger(__name__)


# Answered before anything else can cost: no database, no cache, no session, no user. The
# container's liveness check, and the floor every benchmark compares against.
LIVE = b'{"status": "ok"}'


def healthz_live(request: HttpRequest) -> HttpResponse:
    """GET /healthz/live: this process answers HTTP. Nothing more is asked (see /healthz for
    readiness)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    return HttpResponse(
        LIVE, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report: dict[str, Any] = {}
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
    config = ServiceConfig.objects.active() if report["database"] == "ok" else None
    report["plex"] = _plex_circuit(config) if report["database"] == "ok" else "unknown"
    # The listener's status is in the cache (through its guard: Redis down reads as off).
    events = freshness_for(config).status() if config is not None else None
    report["events"] = events.state if events else "off"
    age = events.last_event_age if events else None
    report["events_last_event_age"] = round(age, 1) if age is not None else None
    healthy = report["database"] == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **report}, status=200 if healthy else 503
    )


def _plex_circuit(config: ServiceConfig | None) -> str:
    if config is None:
        return "not configured"
    return breaker_for(config.address).current_state  # closed, open or half-open
