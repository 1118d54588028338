"""One connection pool and one circuit breaker per Plex server, shared by every user's client.

A client is cheap (it holds a token, settings and a session of its own); the pool and the
breaker are what must be shared: the pool (a requests adapter, never a session with its cookie
jar) so that keep-alive connections are reused across users, the breaker so that a dead server
is noticed once for everybody. When the cache is Redis the breaker's state lives in Redis, so
every worker process and host sees the same open circuit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.crypto import salted_hmac
from requests.adapters import HTTPAdapter

from plex.cache import Bulkhead, cache_guard
from plex.client import PlexBreaker, PlexClient, make_breaker
from plex.client.session import make_adapter
from plex.models import ServiceConfig

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# (server, verify TLS) -> (the pool with retries, the pool for trial calls: one attempt)
_adapters: dict[tuple[str, bool], tuple[HTTPAdapter, HTTPAdapter]] = {}
_breakers: dict[str, PlexBreaker] = {}
# (server URL, verify TLS, timeout, access key) -> (client, last used), oldest first.
_clients: OrderedDict[tuple[str, bool, float, str], tuple[PlexClient, float]] = OrderedDict()
MAX_CLIENTS = 1000  # a hard bound besides idleness; a family server has a handful of users
_bulkhead: Bulkhead | None = None


def server_name(base_url: str) -> str:
    """A short, secret-free name for a server: its host and port."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _shared_redis():  # -> redis.Redis | None
    """The cache's Redis client when the cache is django-redis, else None."""
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def breaker_for(base_url: str, timeout: float = 3.0) -> PlexBreaker:
    with _lock:
        return _breaker_locked(base_url, timeout)


def _breaker_locked(base_url: str, timeout: float) -> PlexBreaker:
    name = server_name(base_url)
    breaker = _breakers.get(name)
    if breaker is None:
        breaker = _breakers[name] = make_breaker(
            name,
            fail_max=settings.PLEX_BREAKER_FAIL_MAX,
            reset_timeout=settings.PLEX_BREAKER_RESET_TIMEOUT,
            redis=_shared_redis(),
            redis_guard=cache_guard,
            # A trial is one attempt: connect, read, and the body's deadline.
            trial_lease_seconds=2 * timeout + settings.PLEX_RESPONSE_DEADLINE,
        )
    return breaker


def _adapters_locked(base_url: str, verify_tls: bool) -> tuple[HTTPAdapter, HTTPAdapter]:
    key = (server_name(base_url), verify_tls)
    adapters = _adapters.get(key)
    if adapters is None:
        adapters = _adapters[key] = (make_adapter(), make_adapter(retries=False))
    return adapters


def bulkhead() -> Bulkhead:
    """How many of this process's threads may wait on Plex at once (PLEX_CONCURRENCY)."""
    global _bulkhead
    if _bulkhead is None:
        with _lock:
            if _bulkhead is None:
                _bulkhead = Bulkhead(settings.PLEX_CONCURRENCY)
    return _bulkhead


def access_key(token: str) -> str:
    """A keyed hash of a token (HMAC with SECRET_KEY): names what a token may see, in cache
    keys and registries, without being the token."""
    return salted_hmac("medianest.plex.access", token, algorithm="sha256").hexdigest()[:32]


def client_for(config: ServiceConfig, token: str) -> PlexClient:
    """The client for this server and token, reused while in use; idle ones are dropped."""
    key = (config.base_url, config.verify_tls, config.timeout, access_key(token))
    now = time.monotonic()
    with _lock:
        _drop_idle(now)
        entry = _clients.pop(key, None)
        client = entry[0] if entry else None
        if client is None:
            adapter, trial_adapter = _adapters_locked(config.base_url, config.verify_tls)
            client = PlexClient(
                config.base_url,
                token,
                timeout=config.timeout,
                verify_tls=config.verify_tls,
                adapter=adapter,
                trial_adapter=trial_adapter,
                breaker=_breaker_locked(config.base_url, config.timeout),
                deadline=settings.PLEX_RESPONSE_DEADLINE,
                image_max_bytes=settings.PLEX_IMAGE_MAX_BYTES,
            )
        _clients[key] = (client, now)  # most recently used last
        return client


def _drop_idle(now: float) -> None:
    idle_after = settings.PLEX_CLIENT_IDLE_SECONDS
    while _clients:
        oldest_key, (_, last_used) = next(iter(_clients.items()))
        if now - last_used < idle_after and len(_clients) < MAX_CLIENTS:
            break
        del _clients[oldest_key]


def forget_all() -> None:
    """Drop every pool and breaker (tests, and after the server's address changes)."""
    global _bulkhead
    with _lock:
        _bulkhead = None
        for adapters in _adapters.values():
            for adapter in adapters:
                adapter.close()
        _adapters.clear()
        _breakers.clear()
        _clients.clear()
