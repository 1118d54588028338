"""Issue 12: however many app processes and threads there are, at most PLEX_MAX_CONNECTIONS (10)
requests are in flight at the Plex server at once.

Three gunicorn processes of eight threads each (each process lets eight of its threads wait on
Plex: 24 in all) are asked for sixty pages nobody has seen, at once, while Plex answers slowly.
The emulator counts the requests it is handling; the most at once must stay within the limit,
and come near it, or nothing was proven. Everything is real: the emulator and the three
gunicorn servers are subprocesses sharing one Redis, and the test talks to them over HTTP.

Needs the Redis named by TEST_REDIS_URL (default redis://127.0.0.1:6379/15), which it empties;
it fails, not skips, when that Redis is down (`make test` starts it).
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from harness.stack import prepare_site, start_emulator, start_gunicorn, stop
from plex_emulator import control

OWNER_TOKEN = "fleet-owner-token-8e2c41"
FRIEND_TOKEN = "fleet-friend-token-17f9d3"
LIMIT = 10
PROCESSES = 3
THREADS = 8
PAGES = 60
PAGE_SIZE = 4  # 60 pages of 4: 240 movies, every page a different cache key
SLOW_MS = 250  # each Plex answer takes this long: requests overlap


def log_tail(logs: Path) -> str:
    parts = []
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-20:]
        parts.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(parts)


def test_three_processes_of_eight_threads_never_have_more_than_ten_requests_at_plex(
    tmp_path: Path,
) -> None:
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    shared = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        shared.flushdb()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis at {redis_url} (TEST_REDIS_URL) does not answer: {exc}. "
            "Start it (`make test` does) and run again."
        )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": "fleet-limit-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DEBUG": "1",
        "PLEX_MAX_CONNECTIONS": str(LIMIT),
        # Every thread of a process may wait on Plex: only the fleet's limit holds them back.
        "PLEX_CONCURRENCY": str(THREADS),
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen] = []
    try:
        emulator, emulator_url = start_emulator(
            env, owner_token=OWNER_TOKEN, friend_token=FRIEND_TOKEN, movies=240, shows=4
        )
        processes.append(emulator)
        api_token = prepare_site(
            env, emulator_url=emulator_url, username="ann", plex_token=OWNER_TOKEN
        )
        apps = []
        for name in "abc":
            proc, url = start_gunicorn(
                env, workers=1, threads=THREADS, log=tmp_path / f"app_{name}.log", timeout=30
            )
            processes.append(proc)
            apps.append(url)
        headers = {"Authorization": f"Token {api_token}"}

        control(emulator_url, "fault", {"mode": "latency", "delay_ms": SLOW_MS})
        control(emulator_url, "stats/reset", {})

        def page(index: int) -> requests.Response:
            return requests.get(
                f"{apps[index % PROCESSES]}/api/v1/plex/libraries/1/items",
                params={"offset": index * PAGE_SIZE, "limit": PAGE_SIZE},
                headers=headers,
                timeout=30,
            )

        with ThreadPoolExecutor(max_workers=PAGES) as pool:
            responses = list(pool.map(page, range(PAGES)))
        stats = control(emulator_url, "stats")
        control(emulator_url, "fault", {"mode": "ok"})

        statuses = [response.status_code for response in responses]
        assert set(statuses) <= {200, 503}, (statuses, log_tail(tmp_path))
        for response in responses:
            if response.status_code == 503:
                assert response.json()["code"] == "plex_unavailable", response.text
                assert int(response.headers["Retry-After"]) >= 1
        assert statuses.count(200) >= PAGES // 2, (statuses, log_tail(tmp_path))
        assert stats["in_flight_max"] <= LIMIT, stats
        assert stats["in_flight_max"] >= LIMIT // 2, ("no concurrency to limit", stats)
        assert stats["in_flight"] == 0, stats
    finally:
        stop(processes)
        try:
            shared.flushdb()
        finally:
            shared.close()
