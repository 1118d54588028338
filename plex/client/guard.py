"""Calls to a helper service (Redis) that must never fail a request for an outage of its own.

One guard per service and process: after a failure the service is not tried again for
`skip_after` seconds (a Redis that hangs would otherwise cost every call its socket timeout,
several times over), and each warning is logged at most once per `warn_every` seconds. Share
one guard between every user of the same Redis, so that the first to find it down spares the
others their timeouts. Plain Python: the circuit breaker uses it as the cache does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Guard:
    def __init__(
        self,
        errors: tuple[type[BaseException], ...],
        *,
        name: str = "Redis",
        skip_after: float = 5.0,
        warn_every: float = 60.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.errors = errors  # what an outage raises; anything else is a bug and propagates
        self.name = name
        self.skip_after = skip_after
        self.warn_every = warn_every
        self.logger = logger or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget an earlier failure (tests; an operator who just restarted the service)."""
        self._down_until = 0.0
        self._warned_at: dict[str, float] = {}  # message -> when it was last logged

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def call(self, operation: Callable[[], T], default: Any = None) -> tuple[T | Any, bool]:
        """(result, True), or (default, False) when the service is down or was a moment ago."""
        if self.is_down():
            return default, False
        try:
            return operation(), True
        except self.errors as exc:
            self._down_until = time.monotonic() + self.skip_after
            self.warn(f"{self.name} unavailable, going on without it: %s", exc)
            return default, False

    def warn(self, message: str, *args: object) -> None:
        """Each warning at most once per `warn_every` seconds: an outage must not flood the log."""
        now = time.monotonic()
        with self._lock:
            if now - self._warned_at.get(message, -self.warn_every) < self.warn_every:
                return
            self._warned_at[message] = now
        self.logger.warning(message, *args)
