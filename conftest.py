"""Fixtures shared by every app's tests: real Redis and the Plex emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import redis

if TYPE_CHECKING:
    from plex_emulator import Emulator


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database the tests may empty. Tests that need it fail (not skip) when it is down:
    `make test` starts the local Redis or says how."""
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def unused_tcp_port() -> int:
    """A port nothing listens on (bound then released), for "server is down" cases."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_plex_connections() -> Iterator[None]:
    """Each test starts with closed circuits and empty caches: a breaker opened or a value
    cached by one test must not decide another. With REDIS_URL set, this empties that Redis
    database, so point it at one kept for tests (.ci/run uses database 1)."""
    from django.core.cache import cache

    from plex.connections import current

    current().reset()
    cache.clear()
    yield
    current().reset()


@pytest.fixture
def redis_cache(settings, redis_client: redis.Redis, redis_url: str) -> Iterator[str]:
    """The app's cache on the real Redis (TEST_REDIS_URL, emptied), as in production: the Plex
    cache, coalescing locks, throttling and the circuit breaker's shared state live there."""
    from django.core.cache import caches

    from plex.connections import forget_all

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "medianest-test",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",  # as in production
            },
        }
    }
    forget_all()  # breakers made before now keep their state in memory
    yield redis_url
    caches["default"].close()
    forget_all()


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[Emulator]:
    from plex_emulator import Emulator

    with Emulator(
        owner_token="owner-token-7f3a9c2e51",
        friend_token="friend-token-4b8d6e1f09",
        stranger_token="stranger-token-2c5e8a7d31",
        movies=240,
        shows=8,
    ) as emulator:
        yield emulator


@pytest.fixture
def emulator(_emulator_server: Emulator) -> Iterator[Emulator]:
    """The Plex emulator over real sockets (it plays plex.tv too), with no fault and zeroed
    statistics, left that way afterwards, its watch state back to the seeded one. One server
    for the whole run: it starts in a second."""
    _emulator_server.clear_fault()
    _emulator_server.reset_stats()
    yield _emulator_server
    _emulator_server.clear_fault()
    # One emulator for the run: a test that marks something watched, or adds or removes an
    # item, must not leak into the next one's expectations.
    _emulator_server.reset_library()
    _emulator_server.reset_watch()
    _emulator_server.reset_connections()  # rebinds only when a test moved the live one


@pytest.fixture
def config(redis_cache: str, emulator: Emulator):  # -> ServiceConfig
    """The emulator as MediaNest's Plex server, checked (machine identifier known), with the
    cache on the real Redis and the emulator's statistics zeroed."""
    from plex.models import ServiceConfig
    from plex.services import check_connection

    config = ServiceConfig.objects.create(url=emulator.url)
    check_connection(config, emulator.owner_token)
    emulator.reset_stats()
    return config


@pytest.fixture
def owner(emulator: Emulator):  # -> User
    from accounts.models import User

    return User.objects.create(username="owner", plex_token=emulator.owner_token)


@pytest.fixture
def friend(emulator: Emulator):  # -> User
    """Sees what the owner shared: every section but "4K Movies"."""
    from accounts.models import User

    return User.objects.create(username="friend", plex_token=emulator.friend_token)


@pytest.fixture
def owner_client(config, owner):  # -> django.test.Client
    from django.test import Client

    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def friend_client(config, friend):  # -> django.test.Client
    from django.test import Client

    client = Client()
    client.force_login(friend)
    return client


@pytest.fixture
def private_redis(tmp_path):  # -> Iterator[harness.stack.RedisServer]
    """A redis-server of this test's own, to kill or freeze."""
    from harness.stack import RedisServer

    server = RedisServer(tmp_path)
    yield server
    server.stop()
