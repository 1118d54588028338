"""What a MediaNest process keeps between requests, in one place: `Connections`, owned by the
plex app's config (`current()`), with one `reset()` for tests.

- One connection pool and one circuit breaker per Plex server, shared by every user's client:
  the pool (a requests adapter, never a session with its cookie jar) so that keep-alive
  connections are reused across users, the breaker so that a dead server is noticed once for
  everybody. With Redis the breaker's state lives there, so every process sees one circuit.
- One request limiter per server (PLEX_MAX_CONNECTIONS in flight for the whole deployment,
  its slots in Redis), shared by every client of that server in the process.
- The clients themselves, one per server and token, dropped once idle (a TTL cache).
- The bulkhead: how many of this process's threads may wait on Plex at once.
- The guard of the cache's Redis, shared by everything that uses it.
- (Emptied here, kept on `PlexCache`:) the decoded copies of the answers read lately.
- The pool to plex.tv, shared by the sign-ins.

Everything is made on first use from the settings of that moment, so a test that changes a
setting and calls `reset()` gets objects made from it. Nothing here imports the models: the
server is named by a `ServerAddress`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cachetools import TTLCache
from django.conf import settings
from django.utils.crypto import salted_hmac

from plex.cache import CACHE_ERRORS, Bulkhead, PlexCache
from plex.client import (
    FleetLimiter,
    Guard,
    PlexBreaker,
    PlexClient,
    make_breaker,
    redaction,
)
from plex.client.session import make_adapter

if TYPE_CHECKING:
    from requests.adapters import HTTPAdapter

MAX_CLIENTS = 1000  # a hard bound besides idleness; a family server has a handful of users


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """How to reach a Plex server: all a client needs to know of its configuration."""

    base_url: str
    verify_tls: bool = True
    timeout: float = 3.0


def server_name(base_url: str) -> str:
    """A short, secret-free name for a server: its host and port."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def access_key(token: str) -> str:
    """A keyed hash of a token (HMAC with SECRET_KEY): names what a token may see, in cache
    keys and registries, without being the token."""
    return salted_hmac("medianest.plex.access", token, algorithm="sha256").hexdigest()[:32]


class Connections:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Shared by the Plex cache, the breakers' storage, the throttle, the sign-in limits
        # and /healthz: whoever finds Redis down first spares the others its timeout.
        self.guard = Guard(CACHE_ERRORS, name="Cache", logger=logging.getLogger("plex.cache"))
        self.reset()

    def reset(self) -> None:
        """Forget every pool, breaker, client, the bulkhead and any Redis failure (tests). A
        server whose address changes needs none of it: clients are kept per address."""
        with self._lock:
            for adapters in getattr(self, "_adapters", {}).values():
                for adapter in adapters:
                    adapter.close()
            # (server, verify TLS) -> (the pool with retries, the pool for trial calls)
            self._adapters: dict[tuple[str, bool], tuple[HTTPAdapter, HTTPAdapter]] = {}
            self._breakers: dict[str, PlexBreaker] = {}
            self._limiters: dict[str, FleetLimiter] = {}
            self._clients: TTLCache[tuple[ServerAddress, str], PlexClient] | None = None
            self._bulkhead: Bulkhead | None = None
            plextv_adapter: HTTPAdapter | None = getattr(self, "_plextv_adapter", None)
            if plextv_adapter is not None:
                plextv_adapter.close()
            self._plextv_adapter: HTTPAdapter | None = None
            # The active server's configuration as last read, for plex.services.active_config.
            self.config_memo: Any = None
            # plex.discovery's "once per interval" claims when the cache is down: key -> until.
            self.heal_memo: dict[str, float] = {}
            # API tokens' users, for accounts.authentication (a few seconds each).
            self.token_memo: Any = None
            self.guard.reset()
            # The decoded answers every PlexCache of the process shares (and what was derived
            # from them): kept on the class, as the cache itself is, and emptied with the rest.
            if PlexCache.recall is not None:
                PlexCache.recall.clear()
        redaction.forget_secrets()

    # -- what the rest of the app asks for ----------------------------------------------------

    def client_for(self, server: ServerAddress, token: str) -> PlexClient:
        """The client for this server and token, reused while in use; idle ones are dropped."""
        key = (server, access_key(token))
        with self._lock:
            if self._clients is None:
                self._clients = TTLCache(MAX_CLIENTS, ttl=settings.PLEX_CLIENT_IDLE_SECONDS)
            client = self._clients.get(key)
            if client is None:
                adapter, trial_adapter = self._adapters_for(server)
                client = PlexClient(
                    server.base_url,
                    token,
                    timeout=server.timeout,
                    verify_tls=server.verify_tls,
                    adapter=adapter,
                    trial_adapter=trial_adapter,
                    breaker=self._breaker_for(server),
                    deadline=settings.PLEX_RESPONSE_DEADLINE,
                    image_max_bytes=settings.PLEX_IMAGE_MAX_BYTES,
                    limiter=self._limiter_for(server),
                )
            self._clients[key] = client  # set again: idleness counts from the last use
            return client

    def breaker_for(self, server: ServerAddress) -> PlexBreaker:
        with self._lock:
            return self._breaker_for(server)

    @property
    def bulkhead(self) -> Bulkhead:
        """How many of this process's threads may wait on Plex at once (PLEX_CONCURRENCY)."""
        with self._lock:
            if self._bulkhead is None:
                self._bulkhead = Bulkhead(settings.PLEX_CONCURRENCY)
            return self._bulkhead

    @property
    def plextv_adapter(self) -> HTTPAdapter:
        """The pool to plex.tv, shared by every sign-in's own session."""
        with self._lock:
            if self._plextv_adapter is None:
                self._plextv_adapter = make_adapter()
            return self._plextv_adapter

    # -- under the lock -------------------------------------------------------------------------

    def _breaker_for(self, server: ServerAddress) -> PlexBreaker:
        name = server_name(server.base_url)
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = make_breaker(
                name,
                fail_max=settings.PLEX_BREAKER_FAIL_MAX,
                reset_timeout=settings.PLEX_BREAKER_RESET_TIMEOUT,
                redis=_shared_redis(),
                redis_guard=self.guard,
                # A trial is one attempt: connect, read, and the body's deadline.
                trial_lease_seconds=2 * server.timeout + settings.PLEX_RESPONSE_DEADLINE,
            )
        return breaker

    def _limiter_for(self, server: ServerAddress) -> FleetLimiter:
        # Per server name, not per address: one server reached with another timeout or TLS
        # check is still one server with one limit.
        name = server_name(server.base_url)
        limiter = self._limiters.get(name)
        if limiter is None:
            limiter = self._limiters[name] = FleetLimiter(
                name,
                settings.PLEX_MAX_CONNECTIONS,
                redis=_shared_redis(),
                guard=self.guard,
            )
        return limiter

    def _adapters_for(self, server: ServerAddress) -> tuple[HTTPAdapter, HTTPAdapter]:
        key = (server_name(server.base_url), server.verify_tls)
        adapters = self._adapters.get(key)
        if adapters is None:
            adapters = self._adapters[key] = (make_adapter(), make_adapter(retries=False))
        return adapters


def _shared_redis() -> Any:  # redis.Redis | None
    """The cache's Redis client when the cache is django-redis, else None."""
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def current() -> Connections:
    """This process's Connections, owned by the plex app's config."""
    from django.apps import apps

    connections: Connections = apps.get_app_config("plex").connections  # type: ignore[attr-defined]
    return connections


# The names the rest of the app calls, each on this process's Connections.


def client_for(server: ServerAddress, token: str) -> PlexClient:
    return current().client_for(server, token)


def breaker_for(server: ServerAddress) -> PlexBreaker:
    return current().breaker_for(server)


def forget_all() -> None:
    current().reset()
