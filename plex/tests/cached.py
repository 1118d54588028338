"""What the cache's TTLs do, without waiting for them, for tests on the real Redis."""

from __future__ import annotations

from django.core.cache import cache
from django_redis import get_redis_connection


def expire_fresh_copy(key: str) -> bool:
    """Make one cached answer (`base` or `base@stamp`) a last good copy only, as its TTL would:
    still there to serve while Plex is down, no longer fresh. False when nothing is cached."""
    base = key.partition("@")[0]
    value = cache.get(base)
    if not (isinstance(value, tuple) and len(value) == 4):
        return False
    stored_at, _, stamp, answer = value
    cache.set(base, (stored_at, 0.0, stamp, answer), timeout=cache.ttl(base))
    return True


def expire_fresh_copies() -> int:
    """Every cached Plex answer made a last good copy only; how many there were (at least one,
    or the test meant to expire something that was never cached)."""
    expired = 0
    for full in get_redis_connection("default").scan_iter("*plex:v1*"):
        key = full.decode().split(":", 2)[2]  # without django-redis's "<prefix>:<version>:"
        if not key.endswith((":lock", ":failed")):
            expired += expire_fresh_copy(key)
    assert expired, "nothing was cached"
    return expired
