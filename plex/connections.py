"""One connection pool and one circuit breaker per Plex server, shared by every user's client.

A client is cheap (it holds a token and settings); the pool and the breaker are what must be
shared: the pool so that keep-alive connections are reused across users, the breaker so that a
dead server is noticed once for everybody. When the cache is Redis the breaker's state lives in
Redis, so every worker process and host sees the same open circuit.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

import requests
from django.conf import settings

from plex.client import PlexBreaker, PlexClient, make_breaker, make_session
from plex.models import ServiceConfig

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_sessions: dict[tuple[str, bool], requests.Session] = {}
_breakers: dict[str, PlexBreaker] = {}


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


def breaker_for(base_url: str) -> PlexBreaker:
    name = server_name(base_url)
    with _lock:
        breaker = _breakers.get(name)
        if breaker is None:
            breaker = make_breaker(
                name,
                fail_max=settings.PLEX_BREAKER_FAIL_MAX,
                reset_timeout=settings.PLEX_BREAKER_RESET_TIMEOUT,
                redis=_shared_redis(),
            )
            _breakers[name] = breaker
        return breaker


def session_for(base_url: str, verify_tls: bool) -> requests.Session:
    key = (server_name(base_url), verify_tls)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = make_session(verify_tls=verify_tls)
        return session


def client_for(config: ServiceConfig, token: str) -> PlexClient:
    return PlexClient(
        config.base_url,
        token,
        timeout=config.timeout,
        verify_tls=config.verify_tls,
        session=session_for(config.base_url, config.verify_tls),
        breaker=breaker_for(config.base_url),
    )


def forget_all() -> None:
    """Drop every pool and breaker (tests, and after the server's address changes)."""
    with _lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()
        _breakers.clear()
