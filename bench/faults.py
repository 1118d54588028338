"""The fault matrix: MediaNest under load while Plex (or Redis) misbehaves, and what users got.

Everything runs in its own process: the Plex emulator, a hostile proxy in front of it
(plex_emulator/hostile.py) that MediaNest is configured to use as its Plex, a second proxy
that only records what reaches it (a redirect's target), a Redis of the benchmark's own (to
kill or freeze), and gunicorn (3 workers x 4 threads, gthread, DEBUG off) on a SQLite file.

    .venv/bin/python bench/faults.py [--clients 16] [--duration 6] [--only "plex slow"]

For each fault, client threads ask for a mix of warm (cached) and cold answers for --duration
seconds while a probe asks /healthz, then the fault is cleared. One Markdown table:

- answers by status, and X-Cache counts;
- to Plex: requests MediaNest sent its Plex (the hostile proxy) during the fault;
- warm p50/p95: latency of answers that were cached before the fault (ms);
- healthz p95 (ms);
- recovery: seconds from clearing the fault to the first fresh (MISS) answer of a new page;
- 500s: must be 0 (the script exits 1 otherwise).

Redirect targets reached, and the Content-Types served for images, are printed under the
table. The script exits 1 when an answer was a 500, a request reached a redirect's target, an
image was served as image/svg+xml, or Plex did not recover within 60 s of a fault's end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.stack import (  # noqa: E402
    RedisServer,
    prepare_site,
    start_emulator,
    start_gunicorn,
    start_hostile,
    stop,
)
from plex_emulator import control  # noqa: E402

OWNER_TOKEN = "faults-owner-token-7d1c0b"
FRIEND_TOKEN = "faults-friend-token-55e2a9"
WORKERS, THREADS = 3, 4
WARM = ["/api/v1/plex/libraries", "/api/v1/plex/libraries/1/items?limit=50"]


# -- processes ---------------------------------------------------------------------------------


def hostile_call(url: str, action: str, payload: dict[str, object] | None = None) -> object:
    """A control endpoint of a hostile proxy in another process."""
    if payload is None:
        response = requests.get(f"{url}/__hostile__/{action}", timeout=10)
    else:
        response = requests.post(f"{url}/__hostile__/{action}", json=payload, timeout=10)
    response.raise_for_status()
    return response.json()


# -- one row ---------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    start: Callable[[], None]
    clear: Callable[[], None] = lambda: None
    delay: float = 0.0  # seconds into the load before the fault starts
    plex: bool = True  # a Plex fault: recovery is measured once it is cleared


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    cache: Counter[str] = field(default_factory=Counter)
    warm_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    image_types: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: requests.Response, warm: bool, elapsed: float) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            self.cache[response.headers.get("X-Cache", "none")] += 1
            if warm:
                self.warm_ms.append(elapsed * 1000)
            if "/image?" in response.url and response.status_code == 200:
                self.image_types[response.headers.get("Content-Type", "")] += 1


def p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


class Bench:
    def __init__(self, app: str, api_token: str, plex: str, clients: int) -> None:
        self.app = app
        self.plex = plex  # the hostile proxy MediaNest is configured with
        self.headers = {"Authorization": f"Token {api_token}"}
        self.clients = clients
        self.fresh = itertools.count(1)  # cold requests never repeat across rows
        self.thumbs: list[str] = []

    def get(self, session: requests.Session, path: str, timeout: float = 30) -> requests.Response:
        return session.get(f"{self.app}{path}", headers=self.headers, timeout=timeout)

    def cold_path(self) -> str:
        n = next(self.fresh)
        kind = n % 3
        if kind == 0 and self.thumbs:
            thumb = self.thumbs[n % len(self.thumbs)]
            width = (150, 300, 450, 600, 900, 1200)[(n // len(self.thumbs)) % 6]
            return f"/api/v1/plex/image?path={thumb}&width={width}&height={width * 3 // 2}"
        if kind == 1:
            return f"/api/v1/plex/search?q=zz{n}"
        return f"/api/v1/plex/libraries/1/items?limit=5&offset={n % 500 + 1}&sort=year:desc"

    def warm_up(self) -> None:
        with requests.Session() as session:
            for path in WARM:
                self.get(session, path)
            items = self.get(session, WARM[1]).json()["items"]
            self.thumbs = [
                item["thumb"].split("path=")[1].split("&")[0] for item in items if item["thumb"]
            ]

    def run(self, fault: Fault, duration: float) -> dict[str, object]:
        self.warm_up()
        hostile_call(self.plex, "seen/reset", {})
        tally, stop_at = Tally(), time.monotonic() + duration
        threads = [
            threading.Thread(target=self._client, args=(tally, stop_at, i))
            for i in range(self.clients)
        ]
        threads.append(threading.Thread(target=self._probe, args=(tally, stop_at)))
        for thread in threads:
            thread.start()
        time.sleep(fault.delay)
        fault.start()
        for thread in threads:
            thread.join()
        # Every request MediaNest sent, whether the proxy forwarded it or answered it itself.
        upstream = len(hostile_call(self.plex, "seen"))  # type: ignore[arg-type]
        fault.clear()
        recovery = self._recovery() if fault.plex else None
        return {"tally": tally, "upstream": upstream, "recovery": recovery}

    def _client(self, tally: Tally, stop_at: float, seed: int) -> None:
        rng = random.Random(seed)
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                warm = rng.random() < 0.6
                path = rng.choice(WARM) if warm else self.cold_path()
                started = time.perf_counter()
                try:
                    response = self.get(session, path)
                except requests.RequestException:
                    with tally.lock:
                        tally.statuses[0] += 1  # no answer at all
                    continue
                tally.record(response, warm, time.perf_counter() - started)

    def _probe(self, tally: Tally, stop_at: float) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                session.get(f"{self.app}/healthz", timeout=30)
                with tally.lock:
                    tally.health_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.1)

    def _recovery(self) -> float | None:
        started = time.monotonic()
        with requests.Session() as session:
            while time.monotonic() - started < 60:
                try:
                    response = self.get(session, self.cold_path(), timeout=10)
                    if response.status_code == 200 and response.headers.get("X-Cache") == "MISS":
                        return time.monotonic() - started
                except requests.RequestException:
                    pass
                time.sleep(0.2)
        return None


# -- the matrix ------------------------------------------------------------------------------


def faults(emulator: str, hostile: str, recorder: str, cache: RedisServer) -> list[Fault]:
    def emu(**fault: object) -> Callable[[], None]:
        return lambda: control(emulator, "fault", fault)

    def proxy(**mode: object) -> Callable[[], None]:
        return lambda: hostile_call(hostile, "mode", mode)

    return [
        Fault("baseline", lambda: None, plex=False),
        Fault("plex slow (2.5 s)", emu(mode="latency", delay_ms=2500), emu(mode="ok")),
        Fault("plex 503", emu(mode="status", status=503), emu(mode="ok")),
        Fault("plex resets", emu(mode="reset"), emu(mode="ok")),
        Fault("broken JSON", proxy(mode="broken_json"), proxy(mode="ok")),
        Fault(
            "redirect",
            proxy(mode="redirect", location=f"{recorder}/library/sections"),
            proxy(mode="ok"),
        ),
        Fault("huge image (40 MB)", proxy(mode="huge", path_prefix="/photo"), proxy(mode="ok")),
        Fault(
            "dripping image",
            proxy(mode="drip", path_prefix="/photo", interval=1.0),
            proxy(mode="ok"),
        ),
        Fault("truncated image", proxy(mode="truncate", path_prefix="/photo"), proxy(mode="ok")),
        Fault(
            "mislabelled image",
            proxy(mode="mislabel", path_prefix="/photo", content_type="image/svg+xml", body="gif"),
            proxy(mode="ok"),
        ),
        Fault("redis hung", cache.pause, cache.resume, delay=1.0, plex=False),
        Fault("redis killed", cache.kill, delay=1.0, plex=False),
    ]


def row(name: str, result: dict[str, object]) -> str:
    tally: Tally = result["tally"]  # type: ignore[assignment]
    statuses = " ".join(f"{code}:{n}" for code, n in sorted(tally.statuses.items()))
    cache = " ".join(f"{state}:{n}" for state, n in sorted(tally.cache.items()))
    recovery = result["recovery"]
    recovered = (
        "-"
        if recovery is None and name in {"baseline"}
        else (f"{recovery:.1f} s" if isinstance(recovery, float) else "-")
    )
    return (
        f"| {name} | {statuses} | {cache} | {result['upstream']} | "
        f"{p(tally.warm_ms, 0.5):.0f} / {p(tally.warm_ms, 0.95):.0f} | "
        f"{p(tally.health_ms, 0.95):.0f} | {recovered} | {tally.statuses.get(500, 0)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--only", default="", help="run only the faults whose name contains this")
    args = parser.parse_args()

    processes: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="medianest-faults-"))
    cache = RedisServer(tmp)
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "REDIS_URL": cache.url,
        "DEBUG": "0",
        "SECRET_KEY": "faults-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-AB",
        "STATIC_ROOT": str(tmp / "static"),
        "PLEX_RESPONSE_DEADLINE": "2",
        "PLEX_BREAKER_RESET_TIMEOUT": "5",
        "API_THROTTLE_RATE": "100000/s",
        "PYTHONUNBUFFERED": "1",
    }
    try:
        emu_proc, emulator = start_emulator(
            env, owner_token=OWNER_TOKEN, friend_token=FRIEND_TOKEN, movies=600, shows=6
        )
        processes.append(emu_proc)
        hostile_proc, hostile = start_hostile(env, emulator)
        recorder_proc, recorder = start_hostile(env, emulator)
        processes += [hostile_proc, recorder_proc]
        api_token = prepare_site(env, emulator_url=hostile, username="ann", plex_token=OWNER_TOKEN)
        app_proc, app = start_gunicorn(
            env, workers=WORKERS, threads=THREADS, log=tmp / "gunicorn.log"
        )
        processes.append(app_proc)
        bench = Bench(app, api_token, hostile, args.clients)
        lines, problems, images, reached = [], [], Counter(), 0
        for fault in faults(emulator, hostile, recorder, cache):
            if args.only and args.only not in fault.name:
                continue
            if fault.plex or fault.name == "baseline":
                redis.Redis.from_url(cache.url).flushdb()  # a clean circuit and cache
            hostile_call(recorder, "seen/reset", {})
            result = bench.run(fault, args.duration)
            reached += len(hostile_call(recorder, "seen"))  # type: ignore[arg-type]
            tally: Tally = result["tally"]  # type: ignore[assignment]
            images.update(tally.image_types)
            if tally.statuses.get(500, 0):
                problems.append(f"{fault.name}: {tally.statuses[500]} answers were 500s")
            if fault.plex and result["recovery"] is None:
                problems.append(f"{fault.name}: no fresh answer within 60 s of the fault's end")
            lines.append(row(fault.name, result))
            print(lines[-1], file=sys.stderr, flush=True)
        print(
            f"\n{WORKERS} gunicorn workers x {THREADS} threads (PLEX_CONCURRENCY "
            f"{max(1, THREADS // 2)} per process), {args.clients} clients, "
            f"{args.duration:g} s per fault, 60% warm / 40% cold requests.\n"
        )
        print("| fault | answers | X-Cache | to Plex | warm p50 / p95 ms | healthz p95 ms "
              "| recovery | 500s |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(lines))
        print(f"\nRequests that reached the redirect's target: {reached}")
        print("Image Content-Types served: " + ", ".join(f"{t} ({n})" for t, n in images.items()))
        if reached:
            problems.append(f"{reached} requests reached a redirect's target")
        if images.get("image/svg+xml"):
            problems.append("images were served as image/svg+xml")
        for problem in problems:
            print(f"FAIL: {problem}", file=sys.stderr)
        return 1 if problems else 0
    finally:
        stop(processes)
        cache.stop()


if __name__ == "__main__":
    sys.exit(main())
