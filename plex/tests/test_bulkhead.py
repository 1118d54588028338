"""A slow Plex takes a bounded number of a process's threads (PLEX_CONCURRENCY): past that, a
request that needs Plex gets the last good copy or a fast 503 with Retry-After, and cached
answers and /healthz are served at once. Over HTTP, against the live server's threads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from rest_framework.authtoken.models import Token

from accounts.models import User
from plex.connections import forget_all
from plex.models import ServiceConfig
from plex.services import check_connection
from plex.tests.concurrency import run_together
from plex_emulator import Emulator

API = "/api/v1/plex/"
SLOW_PATH = "/library/sections/1/all"


def wait_until_plex_is_asked(emulator: Emulator, path: str) -> None:
    for _ in range(200):
        if emulator.stats()["by_path"].get(path):
            return
        time.sleep(0.02)
    raise AssertionError(f"Plex was never asked for {path}")


@pytest.mark.django_db(transaction=True)
def test_a_slow_plex_holds_one_slot_and_everything_else_is_answered_at_once(
    live_server: Any, config: ServiceConfig, owner: User, emulator: Emulator, settings: Any
) -> None:
    settings.PLEX_CONCURRENCY = 1
    # Plex slow, however long the test takes (the emulator holds the request until the fault is
    # cleared), and well within the timeout: the slot is held, nothing times out.
    config.timeout = 30
    config.save(update_fields=["timeout"])
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=owner).key}"
    base = f"{live_server.url}{API}"
    assert session.get(f"{base}libraries", timeout=10).status_code == 200  # now cached
    emulator.set_fault("hold", path_prefix=SLOW_PATH)
    slow: list[requests.Response] = []
    waiting = threading.Thread(
        target=lambda: slow.append(
            requests.get(f"{base}libraries/1/items", headers=session.headers, timeout=30)
        )
    )
    waiting.start()
    try:
        wait_until_plex_is_asked(emulator, SLOW_PATH)

        turned_away = session.get(f"{base}search?q=garden", timeout=10)
        cached = session.get(f"{base}libraries", timeout=10)
        health = session.get(f"{live_server.url}/healthz", timeout=10)

        assert waiting.is_alive(), "all of the above came back while Plex still held the slot"
        assert (turned_away.status_code, turned_away.json()["code"]) == (503, "plex_unavailable")
        assert int(turned_away.headers["Retry-After"]) >= 1
        assert (cached.status_code, cached.headers["X-Cache"]) == (200, "HIT")
        assert health.status_code == 200
    finally:
        emulator.clear_fault()  # Plex answers the held request
        waiting.join(timeout=30)
        session.close()
    assert slow[0].status_code == 200  # the slow answer itself still arrives


@pytest.mark.django_db(transaction=True)
def test_a_hung_redis_costs_no_request_its_answer(
    live_server: Any,
    emulator: Emulator,
    owner: User,
    settings: Any,
    private_redis: Any,
) -> None:
    """Redis stops answering (SIGSTOP: connections stay open, nothing comes back) while Plex
    is well: every request is still served, from Plex, within the bulkhead. The first to find
    Redis gone spares the others its timeout (one guard for the cache and the circuit)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": private_redis.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    settings.PLEX_CONCURRENCY = 2
    forget_all()
    config = ServiceConfig.objects.create(url=emulator.url)
    check_connection(config, emulator.owner_token)
    token = Token.objects.create(user=owner).key
    paths = [f"{API}libraries", f"{API}libraries/1/items?limit=10", f"{API}server"]

    def ask(index: int) -> int:
        headers = {"Authorization": f"Token {token}"}
        url = f"{live_server.url}{paths[index % len(paths)]}"
        return requests.get(url, headers=headers, timeout=30).status_code

    assert [ask(i) for i in range(3)] == [200] * 3  # cached, the breaker's state in Redis
    private_redis.pause()
    try:
        statuses = run_together(count=12, call=ask)
    finally:
        private_redis.resume()

    assert statuses == [200] * 12
