"""One circuit breaker per Plex server, on pybreaker.

Unavailability (`PlexUnavailable`) and answers MediaNest cannot read (`PlexBadResponse`) count
as failures: a 401, 404 or 400 proves the server is up and sane. After `fail_max` consecutive
failures the circuit opens and calls fail at once, with no network traffic; after
`reset_timeout` seconds one trial call goes through (one in the whole fleet, one attempt), and
its outcome closes or re-opens the circuit. A call that began before the circuit opened and
fails afterwards does not open it again. With Redis, the state lives there so every process
shares it; while Redis is down, each process keeps its own, starting closed.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import pybreaker

from .errors import PlexBadResponse, PlexUnavailable
from .guard import Guard

logger = logging.getLogger("plex.client.breaker")

T = TypeVar("T")


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = getattr(old_state, "name", None) or "closed"
        level = logging.WARNING if new_state.name == pybreaker.STATE_OPEN else logging.INFO
        logger.log(level, "Plex circuit for %s: %s -> %s", cb.name, old, new_state.name)


class PlexBreaker(pybreaker.CircuitBreaker):
    """pybreaker's CircuitBreaker, without its global lock around every call, with one trial
    call for the whole fleet, and deaf to failures of calls older than the circuit's opening.

    pybreaker 1.4 holds one RLock for the whole guarded call, so a breaker shared by a thread
    pool lets one Plex request run at a time. Here a closed circuit runs calls concurrently
    (its counters are atomic in Redis and good enough in memory). An open circuit whose reset
    timeout has passed lets exactly one trial call through: one per process (a lock) and one
    per fleet (a lease in the shared storage, when there is one); everyone else fails fast.
    `in_trial()` tells the guarded function it is that call, so it can make one attempt.
    """

    def __init__(self, *args: Any, trial_lease_seconds: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trial = threading.Lock()
        self._calls = threading.local()  # this thread's call: when it began, whether a trial
        self.trial_lease_seconds = trial_lease_seconds

    def in_trial(self) -> bool:
        """True inside the guarded function of a trial call."""
        return getattr(self._calls, "trial", False)

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        state = self.state
        if state.name == pybreaker.STATE_CLOSED:
            return cast(T, self._timed(state.call, func, *args, **kwargs))
        if self.remaining_open_seconds() > 0:
            raise pybreaker.CircuitBreakerError("the circuit is open")
        if not self._trial.acquire(blocking=False):
            raise pybreaker.CircuitBreakerError("a trial call is already in progress here")
        try:
            lease = self._lease()
            if lease is None:
                raise pybreaker.CircuitBreakerError("a trial call is in progress elsewhere")
            try:
                with self._lock:
                    if self.current_state == pybreaker.STATE_OPEN:
                        self.half_open()
                    self._calls.trial = True
                    # Half-open: success closes the circuit, failure opens it again.
                    return cast(T, self._timed(self.state.call, func, *args, **kwargs))
            finally:
                self._calls.trial = False
                self._release(lease)
        finally:
            self._trial.release()

    def _timed(
        self, call: Callable[..., T], func: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        self._calls.started = datetime.now(UTC)
        try:
            return call(func, *args, **kwargs)
        finally:
            self._calls.started = None

    def open(self) -> bool:
        started: datetime | None = getattr(self._calls, "started", None)
        opened_at = self._state_storage.opened_at
        if (
            started is not None
            and opened_at is not None
            and started < opened_at
            and self.current_state != pybreaker.STATE_CLOSED
        ):
            # This call began before the circuit opened: its failure is old news, and opening
            # again would push the next trial a whole reset timeout further away.
            return self._throw_new_error_on_trip
        return super().open()

    def _lease(self) -> str | None:
        storage = self._state_storage
        if isinstance(storage, _SharedStateWithFallback):
            return storage.acquire_trial(self.trial_lease_seconds)
        return "local"

    def _release(self, lease: str) -> None:
        storage = self._state_storage
        if isinstance(storage, _SharedStateWithFallback):
            storage.release_trial(lease)

    def remaining_open_seconds(self) -> float:
        """How long until an open circuit lets a trial call through (0 when not open)."""
        if self.current_state != pybreaker.STATE_OPEN:
            return 0.0
        opened_at = self._state_storage.opened_at
        if opened_at is None:
            return float(self.reset_timeout)
        elapsed = (datetime.now(UTC) - opened_at).total_seconds()
        return max(0.0, self.reset_timeout - elapsed)


def _not_a_failure(exc: BaseException) -> bool:
    """pybreaker `exclude` predicate: True for errors that do not count as failures (a 401,
    404 or 400 is a server that works)."""
    return not isinstance(exc, PlexUnavailable | PlexBadResponse)


class _SharedStateWithFallback(pybreaker.CircuitBreakerStorage):
    """Breaker state in Redis, shared by every process; in memory while Redis is unreachable.

    pybreaker's CircuitRedisStorage survives Redis errors by logging a traceback for each one
    and answering "closed, no failures", so a dead Redis would also hide a dead Plex. Here each
    operation goes through a Guard (shared with the cache's, so whoever finds Redis down first
    spares the others a timeout) and falls back to this process's memory, which starts closed
    each time Redis goes away. Keys are pybreaker's: `medianest:breaker:<name>:pybreaker:<field>`.
    """

    RETRY_REDIS_AFTER = 10.0

    def __init__(self, name: str, redis: Any, guard: Guard | None = None) -> None:
        super().__init__("redis")
        from redis.exceptions import RedisError

        self._guard = guard or Guard(
            (RedisError, OSError), skip_after=self.RETRY_REDIS_AFTER, logger=logger
        )
        self._breaker_name = name
        self._prefix = f"medianest:breaker:{name}:pybreaker:"
        self._redis = redis
        self._memory = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self._redis_up = True

    def _shared(self, operation: Callable[[Any], T], fallback: Callable[[], T]) -> T:
        result, ok = self._guard.call(lambda: operation(self._redis))
        if ok:
            self._redis_up = True
            return result
        if self._redis_up:
            # This process's memory holds whatever it last wrote, which may be an "open" that
            # another process has long since closed: start from a closed circuit instead, so
            # requests go on being served from Plex. A Plex that is down opens it again.
            self._redis_up = False
            self._memory = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
            self._guard.warn(
                "Redis unavailable for the Plex circuit of %s; this process keeps the circuit "
                "in memory until it is back",
                self._breaker_name,
            )
        return fallback()

    def _key(self, field: str) -> str:
        return self._prefix + field

    def acquire_trial(self, seconds: float) -> str | None:
        """A lease on the next trial call for the whole fleet (SET NX with an expiry, so a
        process that dies mid-trial frees it), or None when another process holds it. While
        Redis is down, this process's own lock is all there is."""
        lease = secrets.token_hex(8)
        milliseconds = max(1, int(seconds * 1000))
        return self._shared(
            lambda redis: (
                lease if redis.set(self._key("trial"), lease, nx=True, px=milliseconds) else None
            ),
            lambda: lease,
        )

    def release_trial(self, lease: str) -> None:
        def release(redis: Any) -> None:
            key = self._key("trial")
            # Only our own lease: if it expired and another process took it, leave theirs.
            if redis.get(key) == lease.encode():
                redis.delete(key)

        self._shared(release, lambda: None)

    @property
    def state(self) -> str:
        def read(redis: Any) -> str:
            value = redis.get(self._key("state"))
            return value.decode() if value else pybreaker.STATE_CLOSED

        return self._shared(read, lambda: self._memory.state)

    @state.setter
    def state(self, state: str) -> None:
        self._memory.state = state
        self._shared(lambda redis: redis.set(self._key("state"), str(state)), lambda: None)

    def increment_counter(self) -> None:
        self._memory.increment_counter()
        self._shared(lambda redis: redis.incr(self._key("fail_counter")), lambda: None)

    def reset_counter(self) -> None:
        self._memory.reset_counter()
        self._shared(lambda redis: redis.set(self._key("fail_counter"), 0), lambda: None)

    def increment_success_counter(self) -> None:
        self._memory.increment_success_counter()
        self._shared(lambda redis: redis.incr(self._key("success_counter")), lambda: None)

    def reset_success_counter(self) -> None:
        self._memory.reset_success_counter()
        self._shared(lambda redis: redis.set(self._key("success_counter"), 0), lambda: None)

    @property
    def counter(self) -> int:
        return self._shared(
            lambda redis: int(redis.get(self._key("fail_counter")) or 0),
            lambda: self._memory.counter,
        )

    @property
    def success_counter(self) -> int:
        return self._shared(
            lambda redis: int(redis.get(self._key("success_counter")) or 0),
            lambda: self._memory.success_counter,
        )

    @property
    def opened_at(self) -> datetime | None:
        def read(redis: Any) -> datetime | None:
            stamp = redis.get(self._key("opened_at"))
            return datetime.fromtimestamp(int(stamp), tz=UTC) if stamp else None

        return self._shared(read, lambda: self._memory.opened_at)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._memory.opened_at = value
        # Plain SET: the latest opening is the one that counts (a failed trial re-opens).
        stamp = int(value.timestamp())
        self._shared(lambda redis: redis.set(self._key("opened_at"), stamp), lambda: None)


def make_breaker(
    name: str,
    *,
    fail_max: int = 5,
    reset_timeout: float = 30,
    redis: Any = None,
    redis_guard: Guard | None = None,
    trial_lease_seconds: float = 30.0,
) -> PlexBreaker:
    """A breaker for the server called `name` (host:port; never a URL with a token).

    With `redis` (a redis-py client), the state is kept under `medianest:breaker:<name>:` so
    every process using that Redis shares one circuit. If Redis cannot be reached now, the
    breaker keeps its state in memory rather than failing the caller; `redis_guard` is the
    Guard of that Redis shared with its other users in the process. `trial_lease_seconds`
    bounds how long a trial call may hold the fleet's lease (its worst case, one attempt).
    """
    storage = _SharedStateWithFallback(name, redis, redis_guard) if redis is not None else None
    return PlexBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[_not_a_failure],
        listeners=[_LogStateChanges()],
        state_storage=storage,
        name=name,
        trial_lease_seconds=trial_lease_seconds,
        # Keep raising the PlexUnavailable that tripped the circuit: it says what went wrong.
        throw_new_error_on_trip=False,
    )
