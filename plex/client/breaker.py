"""One circuit breaker per Plex server, on pybreaker.

Only unavailability (`PlexUnavailable`) counts as a failure: a 401, 404 or 400 proves the server
is up. After `fail_max` consecutive failures the circuit opens and calls fail at once, with no
network traffic; after `reset_timeout` seconds one trial call goes through, and its outcome
closes or re-opens the circuit. With Redis, the state lives there so every process shares it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pybreaker

from .errors import PlexUnavailable

logger = logging.getLogger("plex.client.breaker")

T = TypeVar("T")


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = getattr(old_state, "name", None) or "closed"
        level = logging.WARNING if new_state.name == pybreaker.STATE_OPEN else logging.INFO
        logger.log(level, "Plex circuit for %s: %s -> %s", cb.name, old, new_state.name)


class PlexBreaker(pybreaker.CircuitBreaker):
    """pybreaker's CircuitBreaker, without its global lock around every call.

    pybreaker 1.4 holds one RLock for the whole guarded call, so a breaker shared by a thread
    pool lets one Plex request run at a time. Here a closed circuit runs calls concurrently
    (its counters are atomic in Redis and good enough in memory); only an open or half-open
    circuit serialises, so that one trial call per process probes a recovering server while
    the others fail fast.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trial = threading.RLock()

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        state = self.state
        if state.name == pybreaker.STATE_CLOSED:
            return state.call(func, *args, **kwargs)
        # Re-entrant: pybreaker's open state calls back into call() once it turns half-open.
        if not self._trial.acquire(blocking=False):
            raise pybreaker.CircuitBreakerError("a trial call is already in progress")
        try:
            with self._lock:
                return self.state.call(func, *args, **kwargs)
        finally:
            self._trial.release()

    def remaining_open_seconds(self) -> float:
        """How long until an open circuit lets a trial call through (0 when not open)."""
        if self.current_state != pybreaker.STATE_OPEN:
            return 0.0
        opened_at = self._state_storage.opened_at
        if opened_at is None:
            return float(self.reset_timeout)
        elapsed = (datetime.now(UTC) - opened_at).total_seconds()
        return max(0.0, self.reset_timeout - elapsed)


def _not_unavailable(exc: BaseException) -> bool:
    """pybreaker `exclude` predicate: True for errors that do not count as failures."""
    return not isinstance(exc, PlexUnavailable)


def make_breaker(
    name: str,
    *,
    fail_max: int = 5,
    reset_timeout: float = 30,
    redis: Any = None,
) -> PlexBreaker:
    """A breaker for the server called `name` (host:port; never a URL with a token).

    With `redis` (a redis-py client), the state is kept under `medianest:breaker:<name>:` so
    every process using that Redis shares one circuit. If Redis cannot be reached now, the
    breaker keeps its state in memory rather than failing the caller.
    """
    storage: pybreaker.CircuitBreakerStorage | None = None
    if redis is not None:
        try:
            storage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, redis, namespace=f"medianest:breaker:{name}"
            )
        except Exception as exc:  # redis.RedisError, without importing redis here
            logger.warning(
                "Redis unavailable for the Plex circuit of %s, keeping it in memory: %s", name, exc
            )
            storage = None
    return PlexBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[_not_unavailable],
        listeners=[_LogStateChanges()],
        state_storage=storage,
        name=name,
        # Keep raising the PlexUnavailable that tripped the circuit: it says what went wrong.
        throw_new_error_on_trip=False,
    )
