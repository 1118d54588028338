"""Bench-only: each response says how many database statements its request ran.

On only when MEDIANEST_BENCH_COUNTERS=1 (settings add this middleware first, outermost); never
set it in production. bench/api_load.py sets it on a gunicorn of its own, used only to count,
never to time. Headers:

- `X-Bench-Queries`: statements run through Django's cursors while the request was handled
  (every middleware included: sessions, auth, the view, the session save);
- `X-Bench-Writes`: how many of them were INSERT, UPDATE or DELETE.

Not seen: Django's connection health check (`SELECT 1` on a reused connection, run on the raw
connection) and anything after the response is returned (request_finished handlers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

WRITES = ("INSERT", "UPDATE", "DELETE")


class BenchCountersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = writes = 0

        def count(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
            nonlocal queries, writes
            queries += 1
            if sql.lstrip()[:6].upper() in WRITES:
                writes += 1
            return execute(sql, *args)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(queries)
        response["X-Bench-Writes"] = str(writes)
        return response
