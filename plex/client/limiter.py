"""At most `size` requests in flight to one Plex server, across every process that shares Redis.

A Plex Media Server on a NAS answers a handful of requests at once and queues the rest; every
app process and thread sending its own would bury it as the deployment grows. Each request
therefore holds a slot while it is sent and its answer read (never while it is parsed).

In Redis, one sorted set per server, `medianest:limiter:<host:port>`: the holders' ids, each
scored by when its lease ends (milliseconds, Redis's own clock, so hosts whose clocks disagree
still agree). Taking a slot is one script (drop the leases that ended, count, add when below
`size`), so two processes never both take the last slot; releasing is ZREM of one's own id.
A process that dies holding a slot frees it when its lease ends, and the lease outlasts the
worst case of one call, so a live holder never loses its slot.

A caller waits for a slot up to a bound (polling with short, growing, jittered sleeps), then
fails fast with `PlexUnavailable`, so the cache serves its last good copy. While Redis is down
(or when there is none), each process keeps to a semaphore of its own of the same size.

This is not the bulkhead (`PLEX_CONCURRENCY`, plex/cache.py): that one bounds the threads of
one process waiting on Plex, to keep threads free for cached answers; this one bounds what one
Plex server receives from the whole deployment.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import PlexUnavailable
from .guard import Guard

logger = logging.getLogger("plex.client.limiter")

# A lease outlasts the caller's worst case by this much: a pause of the process (a GC, a busy
# host) must not hand its slot to someone else while its request is still in flight.
LEASE_MARGIN = 5.0
FIRST_PAUSE = 0.005  # seconds between two tries for a slot, doubling up to MAX_PAUSE
MAX_PAUSE = 0.05

# KEYS[1]: the server's sorted set. ARGV: holder id, size, lease (ms). -> {taken 0/1, holders}
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then
  return {0, held}
end
local lease = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
-- The set itself goes when its longest lease would: nothing is left behind by a dead fleet.
if redis.call('PTTL', KEYS[1]) < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
end
return {1, held + 1}
"""

_LOCAL = ""  # the holder id of a slot taken from this process's semaphore


class FleetLimiter:
    """The slots of one Plex server (`name`, host:port): `size` for the whole deployment.

    With `redis` (a redis-py client), the slots are shared through it by every process; `guard`
    is that Redis's Guard shared with its other users in the process (the cache, the breaker),
    so a dead Redis costs one timeout, not one per call. Without `redis`, this process's own
    semaphore is all there is.
    """

    RETRY_REDIS_AFTER = 10.0
    lease_margin = LEASE_MARGIN  # a class attribute: tests shorten it instead of waiting

    def __init__(
        self, name: str, size: int, *, redis: Any = None, guard: Guard | None = None
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.name = name
        self.size = size
        self.key = f"medianest:limiter:{name}"
        self._local = threading.BoundedSemaphore(size)
        self._take = redis.register_script(_TAKE) if redis is not None else None
        if guard is None:
            from redis.exceptions import RedisError

            guard = Guard((RedisError, OSError), skip_after=self.RETRY_REDIS_AFTER, logger=logger)
        self._guard = guard
        self._redis = redis
        self._redis_up = True

    @contextmanager
    def slot(self, *, lease: float, wait: float) -> Iterator[None]:
        """Hold a slot for the block. `lease`: the longest the block can take (the client's
        worst case); `wait`: how long to wait for a slot before PlexUnavailable."""
        holder = self._acquire(lease, wait)
        try:
            yield
        finally:
            self._release(holder)

    def _acquire(self, lease: float, wait: float) -> str:
        deadline = time.monotonic() + wait
        holder = secrets.token_hex(8)
        lease_ms = max(1, int((lease + self.lease_margin) * 1000))
        pause = FIRST_PAUSE
        while True:
            taken = self._take_shared(holder, lease_ms)
            if taken is None:  # no Redis, or it is down: this process's share is all it has
                return self._acquire_local(deadline)
            ok, held = taken
            if ok:
                return holder
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._busy(held)
            # Jitter: waiters of every process must not all ask again at the same moment.
            time.sleep(min(remaining, pause * random.uniform(0.5, 1.0)))
            pause = min(pause * 2, MAX_PAUSE)

    def _take_shared(self, holder: str, lease_ms: int) -> tuple[bool, int] | None:
        take = self._take
        if take is None:
            return None
        result, ok = self._guard.call(
            lambda: take(keys=[self.key], args=[holder, self.size, lease_ms])
        )
        if not ok:
            if self._redis_up:
                self._redis_up = False
                self._guard.warn(
                    "Redis unavailable for the Plex request limit of %s; this process keeps "
                    "to %d requests of its own until it is back",
                    self.name,
                    self.size,
                )
            return None
        self._redis_up = True
        return bool(int(result[0])), int(result[1])

    def _acquire_local(self, deadline: float) -> str:
        if self._local.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return _LOCAL
        raise self._busy(self.size)

    def _release(self, holder: str) -> None:
        if holder == _LOCAL:
            self._local.release()
            return
        # One command, atomic as it is. If Redis is down now, the lease ends on its own.
        self._guard.call(lambda: self._redis.zrem(self.key, holder))

    def _busy(self, held: int) -> PlexUnavailable:
        return PlexUnavailable(
            f"Plex at {self.name} is busy: {held} requests already wait on it.", retry_after=1
        )
