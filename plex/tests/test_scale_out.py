"""Scale-out: two app processes (gunicorn) on one database and one Redis share everything.

A value cached by one process is a HIT in the other, and a circuit opened by one process is
open in the other, so the app can run as many workers or hosts as needed behind a load
balancer. Everything here is real: the Plex emulator and two gunicorn servers run as
subprocesses, and the test talks to them over HTTP.

Needs the Redis named by TEST_REDIS_URL (default redis://127.0.0.1:6379/15), which it empties;
it fails, not skips, when that Redis is down (`make test` starts it).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from harness.stack import prepare_site, start_emulator, start_gunicorn, stop
from plex_emulator import control

ROOT = Path(__file__).resolve().parents[2]
OWNER_TOKEN = "scale-owner-token-5d1e8a"
FRIEND_TOKEN = "scale-friend-token-93c0b7"
START_TIMEOUT = 30.0


@dataclass
class Cluster:
    emulator: str  # the emulator's URL
    apps: tuple[str, str]  # the two app processes' URLs
    headers: dict[str, str]  # Authorization for user ann
    redis: redis.Redis
    logs: Path

    def stats(self) -> dict:
        return control(self.emulator, "stats")

    def reset_stats(self) -> None:
        control(self.emulator, "stats/reset", {})

    def fault(self, **payload: object) -> None:
        control(self.emulator, "fault", payload)

    def get(self, app: int, path: str) -> requests.Response:
        return requests.get(f"{self.apps[app]}{path}", headers=self.headers, timeout=20)

    def log_tail(self) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-20:]
            parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("scale_out")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis at {redis_url} (TEST_REDIS_URL) does not answer: {exc}. "
            "Start it (`make test` does) and run again."
        )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": "scale-out-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DEBUG": "1",
        "PLEX_BREAKER_FAIL_MAX": "5",
        "PLEX_BREAKER_RESET_TIMEOUT": "60",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen] = []
    try:
        emulator, emulator_url = start_emulator(
            env, owner_token=OWNER_TOKEN, friend_token=FRIEND_TOKEN, movies=60, shows=4
        )
        processes.append(emulator)
        api_token = prepare_site(
            env, emulator_url=emulator_url, username="ann", plex_token=OWNER_TOKEN
        )
        apps = []
        for name in ("a", "b"):
            proc, url = start_gunicorn(
                env, workers=1, log=tmp / f"app_{name}.log", timeout=START_TIMEOUT
            )
            processes.append(proc)
            apps.append(url)

        yield Cluster(
            emulator=emulator_url,
            apps=(apps[0], apps[1]),
            headers={"Authorization": f"Token {api_token}"},
            redis=client,
            logs=tmp,
        )
    finally:
        stop(processes)
        try:
            client.flushdb()
        finally:
            client.close()


def test_value_cached_by_one_process_is_a_hit_in_the_other(cluster: Cluster) -> None:
    cluster.reset_stats()

    first = cluster.get(0, "/api/v1/plex/libraries")
    assert first.status_code == 200, first.text
    assert first.headers["X-Cache"] == "MISS"

    second = cluster.get(1, "/api/v1/plex/libraries")
    assert second.status_code == 200, second.text
    assert second.headers["X-Cache"] == "HIT", cluster.log_tail()
    assert second.json() == first.json()

    assert cluster.stats()["by_path"].get("/library/sections") == 1


def test_circuit_opened_by_one_process_is_open_in_the_other(cluster: Cluster) -> None:
    assert cluster.get(1, "/healthz").json()["plex"] == "closed"
    cluster.fault(mode="status", status=503)
    try:
        for n in range(1, 6):
            response = cluster.get(0, f"/api/v1/plex/search?q=zzz{n}")
            assert response.status_code == 503, (n, response.text)
            assert response.json()["code"] == "plex_unavailable", response.text

        health = cluster.get(1, "/healthz").json()
        assert health["plex"] == "open", (health, cluster.log_tail())

        before = cluster.stats()["requests"]
        response = cluster.get(1, "/api/v1/plex/search?q=zzz6")
        after = cluster.stats()["requests"]
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "plex_unavailable", response.text
        assert after == before, "process B asked Plex although the shared circuit is open"
    finally:
        cluster.fault(mode="ok")
