"""Plex answers in Django's cache (Redis in production): fresh copies, last-good copies, and
one upstream request per key however many people ask at once.

Each answer is one Redis key, kept for the stale window (a day, configurable): its value says
when it was fetched, until when it is fresh (its TTL) and the stamp it was fetched under (the
part of the service's key after `@`: generations, plex/freshness.py). Fresh, with the stamp
asked for, it is a HIT; anything else is the last good copy, served as STALE when Plex is
unavailable instead of an error. A failure never overwrites good data; only a 404 or 403
removes it. One key rather than a fresh and a stale copy: half the memory, and a new
generation costs no key of its own.

Concurrent misses for one key coalesce through the cache itself (an `add`, which is Redis
`SET NX`), so they coalesce across threads, worker processes and hosts: one caller loads from
Plex, the others poll for its result, bounded by the time a Plex call can take. Waiters share
the leader's value, and its failure only when the failure is Plex's (unavailable, unreadable):
a refusal of the leader's token is not theirs.

At most `bulkhead.size` threads of a process wait on Plex at once; above that, a caller gets
the last good copy or a fast PlexUnavailable, so a slow Plex cannot take every thread and
cached answers stay fast.

The cache is a help, never a requirement: when it fails (Redis down or hung), every call
loads from Plex directly and a warning is logged at most once a minute.

A warm answer is still one round trip, but not one decoding: `Recall` keeps this process's
decoded copy of each answer it read lately beside the bytes Redis gave for it, and hands
the same copy back while Redis gives the same bytes. What is derived from an answer (its API
JSON, a page's cards) is kept with that copy (`Cached.memo`), so a hit is not rendered again.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import redis
from django.core.cache import cache as default_cache
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted

from plex.client import (
    Guard,
    PlexBadResponse,
    PlexError,
    PlexForbidden,
    PlexNotFound,
    PlexUnavailable,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
CacheState = Literal["HIT", "MISS", "STALE"]

# Errors after which the last good copy is served: Plex is down or glitching, not saying "no".
# They are also the only failures a leader hands to its waiters: they are about Plex, the same
# for every caller, where a 401, 403 or 404 may be about the leader's own token.
STALE_ON = (PlexUnavailable, PlexBadResponse)
_FAILURES: dict[str, type[PlexError]] = {
    "unavailable": PlexUnavailable,
    "bad_response": PlexBadResponse,
}
# What a cache that is down or hung raises (django-redis wraps redis-py's errors). Nothing
# else is caught: a pickling bug must surface as a bug, not as "cache unavailable".
CACHE_ERRORS = (redis.RedisError, OSError, ConnectionInterrupted)


class Bulkhead:
    """At most `size` threads of this process wait on Plex at once. When the slots are full of
    calls Plex has taken more than `slow_after` seconds over, Plex is slow: a caller is turned
    away at once. Otherwise it waits up to `wait` seconds for one to free (a healthy Plex
    frees one in milliseconds). A slow Plex thus holds `size` threads, never the process."""

    def __init__(self, size: int, wait: float = 0.25, slow_after: float = 0.5) -> None:
        self.size = size
        self.wait = wait
        self.slow_after = slow_after
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._since: dict[int, float] = {}  # each slot taken: since when
        self._numbers = itertools.count()

    @contextmanager
    def slot(self) -> Iterator[bool]:
        admitted = self._slots.acquire(blocking=False)
        if not admitted and not self._plex_is_slow():
            admitted = self._slots.acquire(timeout=self.wait)
        if not admitted:
            yield False
            return
        number = next(self._numbers)
        with self._lock:
            self._since[number] = time.monotonic()
        try:
            yield True
        finally:
            with self._lock:
                del self._since[number]
            self._slots.release()

    def _plex_is_slow(self) -> bool:
        with self._lock:
            oldest = min(self._since.values(), default=None)
        return oldest is not None and time.monotonic() - oldest > self.slow_after


Envelope = tuple[float, float, str, Any]  # stored at, fresh until, stamp, value


def _split(key: str) -> tuple[str, str]:
    """A key as the service writes it, `base@stamp`: where the answer is kept (one Redis key
    whatever its generation), and the stamp it must carry to be fresh (plex/freshness.py)."""
    base, _, stamp = key.partition("@")
    return base, stamp


def _envelope(value: Any) -> Envelope | None:
    """A stored envelope, or None for anything else (nothing, or an older format)."""
    return value if isinstance(value, tuple) and len(value) == 4 else None


Memo = dict[Hashable, Any]


class _Recalled(tuple[Any, ...]):
    """A decoded envelope that `Recall` keeps, with what callers derived from its value."""

    memo: Memo


class Recall:
    """This process's decoded copies of the answers it read last, each kept beside the
    bytes Redis gave for it: while Redis gives the same bytes for the same key, the same copy
    is handed back, so a warm page is not unpickled on every request (a page of 50 items took
    more time to decode than to fetch). Identical bytes are the test, so nothing can be stale:
    a new answer, generation or expiry is new bytes. Copies are shared by the threads of the
    process and must be treated as read-only, which the typed results already are by
    convention. Only answers (envelopes) are kept, not counters or locks; bounded by the
    bytes they were decoded from, the least recently used going first."""

    # Decoded, an answer takes about 30 times its compressed bytes (and its JSON and cards
    # about as much again): 512 KiB of them is some 50 pages of 50 items, 30 MB at most.
    def __init__(self, max_bytes: int = 512 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[bytes, _Recalled]] = OrderedDict()
        self._size = 0

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def decode(self, key: str, raw: bytes, decode: Callable[[bytes], Any]) -> Any:
        """The value stored as `raw` at `key`: this process's copy when it has one of those
        very bytes, else `decode(raw)` (kept when it is an answer's envelope)."""
        if len(raw) > self.max_bytes:
            return decode(raw)
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == raw:
                self._entries.move_to_end(key)
                return kept[1]
        value = decode(raw)
        envelope = _envelope(value)
        if envelope is None:
            return value
        recalled = _Recalled(envelope)
        recalled.memo = {}
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._entries[key] = (raw, recalled)
            self._size += len(raw)
            while self._size > self.max_bytes:
                _, (dropped, _) = self._entries.popitem(last=False)
                self._size -= len(dropped)
        return recalled


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value and where it came from: HIT (cache), MISS (Plex, just now) or STALE (the last
    good copy, because Plex is unavailable). `age` is seconds since it was fetched from Plex.
    `memo`: when the value is a copy this process keeps (`Recall`), a place to keep what is
    derived from it (its JSON, its cards), keyed by whatever else that depends on."""

    value: T
    state: CacheState
    age: int = 0
    error: PlexError | None = None  # for STALE: why Plex was not asked successfully
    memo: Memo | None = field(default=None, compare=False, repr=False)

    @property
    def stale(self) -> bool:
        return self.state == "STALE"

    def remember(self, make: Callable[..., R], *args: Hashable) -> R:
        """`make(self.value, *args)`, made once while this process keeps the value decoded
        (`memo`), else made now. `args` must be all the result depends on besides the value
        (a script prefix in its URLs, a page size)."""
        if self.memo is None:
            return make(self.value, *args)
        key = (make, args)
        try:
            made: R = self.memo[key]
        except KeyError:
            # Two threads may both make it: the same result, and either is kept.
            made = self.memo[key] = make(self.value, *args)
        return made


class PlexCache:
    cache = default_cache
    clock: Callable[[], float] = time.time
    # Shared by every PlexCache of the process, as `cache` is; Connections.reset() empties it.
    # None: every value decoded anew.
    recall: Recall | None = Recall()
    POLL_FIRST, POLL_MAX = 0.01, 0.1

    def __init__(
        self,
        *,
        stale_ttl: int,
        wait: float,
        guard: Guard,
        bulkhead: Bulkhead | None = None,
    ) -> None:
        self.stale_ttl = stale_ttl
        self.wait = wait  # how long a waiter waits for the leader: a Plex call's worst case
        self.guard = guard  # the process's guard of the cache (plex.connections)
        self.bulkhead = bulkhead

    def _safe(self, operation: Callable[[], Any], default: Any = None) -> tuple[Any, bool]:
        return self.guard.call(operation, default)

    # -- the one operation --------------------------------------------------------------

    def fetch(
        self,
        key: str,
        ttl: int,
        loader: Callable[[], T],
        read: tuple[Any, bool] | None = None,
    ) -> Cached[T]:
        """The answer at `key` (`base@stamp`). `read`: what is kept at `base`, and whether the
        cache answered, when the caller already read it (with the stamp, plex/freshness.py)."""
        base, stamp = _split(key)
        envelope, cache_ok = read if read is not None else self._safe(lambda: self._get(base))
        if self._fresh(envelope, stamp):
            return self._from_envelope(envelope, "HIT")
        if self.bulkhead is None or not cache_ok:
            # The bulkhead keeps threads free for cached answers; with the cache down there are
            # none, and every request is served from Plex.
            return self._miss(base, stamp, ttl, loader, cache_ok)
        with self.bulkhead.slot() as admitted:
            if admitted:
                return self._miss(base, stamp, ttl, loader, cache_ok)
        return self._turned_away(base, stamp, ttl, loader)

    def _fresh(self, value: Any, stamp: str) -> bool:
        envelope = _envelope(value)
        return envelope is not None and envelope[2] == stamp and self.clock() < envelope[1]

    def _miss(
        self, base: str, stamp: str, ttl: int, loader: Callable[[], T], cache_ok: bool
    ) -> Cached[T]:
        if not cache_ok:
            return Cached(loader(), "MISS")
        lock_key = f"{base}:lock"
        owner = secrets.token_hex(8)
        locked, cache_ok = self._safe(
            lambda: self.cache.add(lock_key, owner, timeout=max(1, round(self.wait)) + 1), False
        )
        if not cache_ok:
            return self._load(base, stamp, ttl, loader, None, owner)
        if not locked:
            return self._wait_for_leader(base, stamp, ttl, loader, lock_key)
        # A leader that finished between our get and our add left its answer: use it.
        envelope, _ = self._safe(lambda: self._get(base))
        if self._fresh(envelope, stamp):
            self._release(lock_key, owner)
            return self._from_envelope(envelope, "HIT")
        # An older leader's failure must not be handed to the callers who now wait on us.
        self._safe(lambda: self.cache.delete(f"{base}:failed"))
        return self._load(base, stamp, ttl, loader, lock_key, owner)

    def read(self, keys: list[str]) -> tuple[dict[str, Any], bool]:
        """Several values in one round trip, and whether the cache answered ({} if not)."""
        found, cache_ok = self._safe(lambda: self._get_many(keys), {})
        return found, cache_ok

    def _get(self, key: str) -> Any:
        if self._recalling() is None:
            return self.cache.get(key)
        return self._get_many([key]).get(key)

    def _get_many(self, keys: list[str]) -> dict[str, Any]:
        """`cache.get_many`, through this process's decoded copies when the cache is plain
        django-redis (its own client reads the bytes; any other cache decodes as it does)."""
        client = self._recalling()
        if client is None or self.recall is None:
            found: dict[str, Any] = self.cache.get_many(keys)
            return found
        recall = self.recall
        names = [str(client.make_key(key)) for key in keys]
        raws = client.get_client(write=False).mget(names)
        return {
            key: recall.decode(name, raw, client.decode)
            for key, name, raw in zip(keys, names, raws, strict=True)
            if raw is not None
        }

    def _recalling(self) -> DefaultClient | None:
        """django-redis's client, when values are read through `recall`."""
        client = getattr(self.cache, "client", None)
        # Exactly the default client: the herd and shard clients store and route differently.
        return client if self.recall is not None and type(client) is DefaultClient else None

    def read_many(self, keys: list[str]) -> dict[str, Any]:
        """Several small values in one round trip ({} while the cache is down)."""
        return self.read(keys)[0]

    def put(self, key: str, value: Any, timeout: float | None) -> None:
        self._safe(lambda: self.cache.set(key, value, timeout=timeout))

    def drop(self, key: str) -> None:
        self._safe(lambda: self.cache.delete(key))

    def advance(self, key: str) -> None:
        """Move the counter at `key` on: keys made with the old generation are out of date."""

        def bump() -> None:
            if not self.cache.add(key, 1, timeout=None):
                self.cache.incr(key)

        self._safe(bump)

    def forget(self, key: str) -> None:
        """Drop an answer, its last good copy with it (it is one key)."""
        base, _ = _split(key)
        self._safe(lambda: self.cache.delete(base))

    def _turned_away(self, base: str, stamp: str, ttl: int, loader: Callable[[], T]) -> Cached[T]:
        """No slot to wait on Plex in: the last good copy, or a fast "try again"; or, when the
        cache has just gone down (the slots were held by calls stuck on it, not on Plex),
        Plex itself."""
        stale, cache_ok = self._safe(lambda: self._get(base))
        if not cache_ok:
            return self._miss(base, stamp, ttl, loader, cache_ok)
        size = self.bulkhead.size if self.bulkhead else 0
        error = PlexUnavailable(
            f"Plex is slow to answer: {size} requests already wait on it.", retry_after=2
        )
        if _envelope(stale) is not None:
            return self._from_envelope(stale, "STALE", error)
        self.guard.warn("Plex is slow: %s requests of this process already wait on it", size)
        raise error

    def _stale_or_raise(self, base: str, error: PlexError) -> Cached[Any]:
        """The last good copy, whatever its freshness or generation, or the error."""
        stale, _ = self._safe(lambda: self._get(base))
        if _envelope(stale) is not None:
            return self._from_envelope(stale, "STALE", error)
        raise error

    # -- helpers ---------------------------------------------------------------------------

    def _from_envelope(
        self, envelope: Envelope, state: CacheState, error: PlexError | None = None
    ) -> Cached[Any]:
        stored_at, _, _, value = envelope
        age = max(0, int(self.clock() - stored_at))
        return Cached(value, state, age, error, getattr(envelope, "memo", None))

    def _load(
        self,
        base: str,
        stamp: str,
        ttl: int,
        loader: Callable[[], T],
        lock_key: str | None,
        owner: str,
    ) -> Cached[T]:
        try:
            try:
                value = loader()
            except STALE_ON as exc:
                self._tell_waiters(base, exc)
                return self._stale_or_raise(base, exc)
            except (PlexNotFound, PlexForbidden):
                # Gone for real, or no longer for this token (a share narrowed): a last good
                # copy of it must not come back.
                self.forget(base)
                raise
            # Stored before the lock is released (below): a waiter that saw neither a lock
            # nor a value would ask Plex a second time. One key: fresh for `ttl` (inside the
            # value), kept as the last good copy for the stale window (Redis's TTL).
            now = self.clock()
            envelope: Envelope = (now, now + ttl, stamp, value)
            keep = max(ttl, self.stale_ttl)
            try:
                self._safe(lambda: self.cache.set(base, envelope, timeout=keep))
            except RecursionError:
                # Nested hundreds of levels deep (a real answer has about six): too deep to
                # pickle, and no answer Plex means to send.
                raise PlexBadResponse("Plex sent an answer nested too deeply to keep.") from None
            return Cached(value, "MISS")
        finally:
            if lock_key is not None:
                self._release(lock_key, owner)

    def _release(self, lock_key: str, owner: str) -> None:
        # Only our own lock: if ours expired and another caller took it, leave theirs alone.
        current, _ = self._safe(lambda: self.cache.get(lock_key))
        if current == owner:
            self._safe(lambda: self.cache.delete(lock_key))

    def _tell_waiters(self, base: str, exc: PlexError) -> None:
        kind = next(name for name, cls in _FAILURES.items() if isinstance(exc, cls))
        retry_after = getattr(exc, "retry_after", 5)
        failure = (kind, str(exc), retry_after)
        self._safe(lambda: self.cache.set(f"{base}:failed", failure, timeout=2))

    def _wait_for_leader(
        self, base: str, stamp: str, ttl: int, loader: Callable[[], T], lock_key: str
    ) -> Cached[T]:
        deadline = time.monotonic() + self.wait
        pause = self.POLL_FIRST
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, self.POLL_MAX)
            found, cache_ok = self._safe(
                lambda: self.cache.get_many([base, f"{base}:failed", lock_key]), {}
            )
            if not cache_ok:
                break
            if self._fresh(found.get(base), stamp):
                return self._from_envelope(found[base], "HIT")
            if f"{base}:failed" in found:
                return self._leader_failed(base, found[f"{base}:failed"])
            if lock_key not in found:
                # The leader is gone without an answer, or its answer was not for us to
                # share (a refusal of its token): ask Plex ourselves.
                break
        return self._load(base, stamp, ttl, loader, None, "")

    def _leader_failed(self, base: str, failure: tuple[str, str, float]) -> Cached[Any]:
        kind, message, retry_after = failure
        if _FAILURES[kind] is PlexUnavailable:
            error: PlexError = PlexUnavailable(message, retry_after=retry_after)
        else:
            error = PlexBadResponse(message)
        return self._stale_or_raise(base, error)
