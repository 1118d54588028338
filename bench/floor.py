"""The floor run of bench/api_load.py (issue 12): each warm endpoint against GET /healthz/live,
the true floor of a Django request in MediaNest (no database, no cache, no session).

Endpoints, all warm: /healthz/live, /api/v1/ (auth and throttle only), a page of library 1's
items, a movie's details, recently added (the three JSON answers must say X-Cache: HIT), the
HTML library page and that movie's HTML page (signed in through the admin's login form as the
bench user, made staff with a password; a browser session, no API token). The JSON requests
carry the API token and no session cookie, the HTML ones the session cookie alone.

Both gunicorns are this run's own, with the cache times of items, libraries and search raised to
an hour: without the event listener items live 60 s, less than this run, and it measures hits.

Timing, on a gunicorn like the bench's (--workers sync workers, or gthread ones with --threads;
gunicorn.conf.py otherwise, the counters below off): one run
per concurrency (1 and 16 by default, --floor-concurrency; --floor-requests per endpoint, at most
--floor-duration seconds), requests interleaved (request n asks for endpoint n % 7), so every
endpoint sees the same machine at the same moments. Per endpoint: p50, p99 (nearest rank,
client-side: requests' own overhead is in every figure, the floor's too), req/s = concurrency /
mean latency (what clients asking only for it would get at that latency; the run's aggregate
rate is printed above), and p50 and p99 over the floor's of the same run, beside the issue's
aims (warm API page p50 <= 3x the floor, warm HTML library page <= 5x). The emulator must see
no request during the timed runs (the HTML pages say nothing like X-Cache).

Counting, on another gunicorn (1 sync worker, same database) with MEDIANEST_BENCH_COUNTERS=1
and a redis-server of the bench's own; each endpoint asked --floor-count times alone, one at a
time, after a warm-up:
- DB queries and writes per request: medianest/bench_counters.py, a bench-only middleware that
  settings add only under that variable, puts X-Bench-Queries / X-Bench-Writes (INSERT, UPDATE,
  DELETE) on each response. Chosen because it counts per request on SQLite and PostgreSQL
  alike: pg_stat_statements is not loaded on the PostgreSQL here, and nothing outside the
  process can count SQLite's statements. It runs on a gunicorn of its own so the timed figures
  carry no cost of it.
- PG xacts per request (PostgreSQL only, else n/a): pg_stat_database's xact_commit +
  xact_rollback for the bench's own database, before and after. Every autocommit statement is
  a transaction, a read as much as a write, and Django's connection health check (SELECT 1 on
  a reused connection, which the middleware cannot see) is one too: this is the issue's
  "commits per request" as the server counts them. PostgreSQL publishes a backend's counts up to
  10 s late, so the bench waits for them after each endpoint (most of this part's minute).
- Redis commands per request: INFO commandstats deltas of that private redis-server (its own
  INFO calls left out). Nothing else talks to it; commands a Lua script runs are counted
  besides its EVALSHA. Counted from outside: no product code.
"""

from __future__ import annotations

import argparse
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

from harness.stack import PostgresDatabase, RedisServer, manage, start_gunicorn

FLOOR = "/healthz/live"
PASSWORD = "bench-password-5d1c-not-for-production"
PG_STATS_DELAY = 11.0  # PGSTAT_IDLE_INTERVAL (10 s) and a margin


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    auth: str  # "none", "token" or "session"
    cached: bool = False  # a JSON answer from the Plex cache: X-Cache must say HIT
    aim: float | None = None  # the aim for p50 over the floor's


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter[int] = field(default_factory=Counter)
    cache: Counter[str] = field(default_factory=Counter)
    queries: int = 0
    writes: int = 0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def rate(self, concurrency: int) -> float:
        mean = sum(self.latencies) / len(self.latencies) if self.latencies else math.nan
        return concurrency / mean


@dataclass
class Counts:
    queries: float
    writes: float
    xacts: float | None  # None: not PostgreSQL
    redis: float | None  # None: no redis-server of our own
    redis_by_command: Counter[str]
    upstream: Counter[str]  # requests the emulator saw, by path


Sessions = Callable[[], dict[str, requests.Session]]


def sessions_for(token: str, cookies: requests.cookies.RequestsCookieJar) -> Sessions:
    def make() -> dict[str, requests.Session]:
        plain, api, browser = requests.Session(), requests.Session(), requests.Session()
        api.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})
        browser.headers.update({"Accept": "text/html"})
        browser.cookies.update(cookies)
        return {"none": plain, "token": api, "session": browser}

    return make


def ask(sessions: dict[str, requests.Session], base: str, endpoint: Endpoint) -> Any:
    return sessions[endpoint.auth].get(f"{base}{endpoint.path}", timeout=60, allow_redirects=False)


def interleaved(
    base: str,
    endpoints: list[Endpoint],
    make_sessions: Sessions,
    total: int,
    concurrency: int,
    duration: float | None = None,
) -> tuple[list[Samples], float]:
    """`total` requests by `concurrency` threads, request n for endpoints[n % len]; one Samples
    per endpoint and the run's wall time. All threads start together."""
    ways = len(endpoints)
    counter = iter(range(total))
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    samples = [Samples() for _ in endpoints]
    stop_at = [math.inf]

    def worker() -> None:
        sessions = make_sessions()
        mine: list[tuple[int, float, Any]] = []
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            started = time.perf_counter()
            response = ask(sessions, base, endpoints[n % ways])
            mine.append((n % ways, time.perf_counter() - started, response))
        for session in sessions.values():
            session.close()
        with lock:
            for which, latency, response in mine:
                into = samples[which]
                into.latencies.append(latency)
                into.statuses[response.status_code] += 1
                into.cache[response.headers.get("X-Cache", "-")] += 1
                into.queries += int(response.headers.get("X-Bench-Queries", 0))
                into.writes += int(response.headers.get("X-Bench-Writes", 0))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    if duration is not None:
        stop_at[0] = started + duration
    barrier.wait()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


def check(what: str, endpoints: list[Endpoint], samples: list[Samples]) -> None:
    for endpoint, got in zip(endpoints, samples, strict=True):
        if set(got.statuses) != {200}:
            raise SystemExit(f"{what}, {endpoint.path}: not every answer was 200: {got.statuses}")
        if endpoint.cached and set(got.cache) != {"HIT"}:
            raise SystemExit(f"{what}, {endpoint.path}: expected only HITs, got {got.cache}")


def login(base: str, username: str, password: str) -> requests.cookies.RequestsCookieJar:
    """Sign in through the admin's login form; the browser's cookies (sessionid, csrftoken)."""
    with requests.Session() as session:
        form = session.get(f"{base}/admin/login/", timeout=30)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if form.status_code != 200 or not found:
            raise SystemExit(f"GET /admin/login/: {form.status_code}, no CSRF token in the form")
        answer = session.post(
            f"{base}/admin/login/",
            data={
                "csrfmiddlewaretoken": found[1],
                "username": username,
                "password": password,
                "next": "/admin/",
            },
            timeout=30,
            allow_redirects=False,
        )
        if answer.status_code != 302 or "sessionid" not in session.cookies:
            raise SystemExit(f"admin login refused: {answer.status_code} {answer.text[:300]}")
        return session.cookies


def warm(base: str, endpoints: list[Endpoint], make_sessions: Sessions) -> None:
    """Each endpoint asked until its answer is cached (three tries)."""
    sessions = make_sessions()
    for endpoint in endpoints:
        for _ in range(3):
            response = ask(sessions, base, endpoint)
            if response.status_code != 200:
                raise SystemExit(
                    f"GET {endpoint.path}: {response.status_code} {response.text[:300]}"
                )
            if response.headers.get("X-Cache", "HIT") == "HIT":
                break
        else:
            raise SystemExit(f"GET {endpoint.path}: still no cache HIT after 3 requests")


def pg_xacts(pg: PostgresDatabase) -> int:
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (pg.name,),
        ).fetchone()
    return int(row[0]) if row else 0


def pg_xacts_settled(pg: PostgresDatabase, before: int) -> int:
    """The count once the last backend published its figures: the first change from `before`,
    or `before` after PG_STATS_DELAY (nothing was pending)."""
    deadline = time.monotonic() + PG_STATS_DELAY
    while time.monotonic() < deadline:
        now = pg_xacts(pg)
        if now != before:
            return now
        time.sleep(0.2)
    return before


def redis_calls(client: redis.Redis) -> Counter[str]:
    stats = client.info("commandstats")
    return Counter(
        {
            name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items()
            if name != "cmdstat_info"
        }
    )


def count(
    base: str,
    endpoints: list[Endpoint],
    make_sessions: Sessions,
    n: int,
    store: redis.Redis | None,
    pg: PostgresDatabase | None,
    plex_url: str,
) -> list[Counts]:
    """Each endpoint `n` times alone, one at a time, on the counting gunicorn."""
    results = []
    settled = 0
    if pg:  # every backend's figures so far published (the warm-up's, the timed gunicorn's)
        time.sleep(PG_STATS_DELAY)
        settled = pg_xacts(pg)
    for endpoint in endpoints:
        redis_before = redis_calls(store) if store else Counter()
        requests.post(f"{plex_url}/__emulator__/stats/reset", timeout=10).raise_for_status()
        samples, _ = interleaved(base, [endpoint], make_sessions, n, concurrency=1)
        check("counting", [endpoint], samples)
        done = samples[0]
        xacts = None
        if pg:
            now = pg_xacts_settled(pg, pg_xacts(pg))
            xacts, settled = (now - settled) / n, now
        redis_delta = redis_calls(store) - redis_before if store else Counter()
        upstream = requests.get(f"{plex_url}/__emulator__/stats", timeout=10).json()
        results.append(
            Counts(
                queries=done.queries / n,
                writes=done.writes / n,
                xacts=xacts,
                redis=sum(redis_delta.values()) / n if store else None,
                redis_by_command=redis_delta,
                upstream=Counter(upstream["by_path"]),
            )
        )
    return results


def floor(
    args: argparse.Namespace,
    *,
    env: dict[str, str],
    plex_url: str,
    api_token: str,
    owner_token: str,
    tmp: Path,
    processes: list[Any],
    pg: PostgresDatabase | None,
) -> None:
    manage(
        env, "plex_user", "bench", "--plex-token", owner_token, "--staff", "--password", PASSWORD
    )
    # Gunicorns of this run's own, where answers stay cached for the whole run (without the
    # event listener items live 60 s, shorter than this run): it measures hits, not expiry.
    env = {
        **env,
        "PLEX_CACHE_TTL_ITEMS": "3600",
        "PLEX_CACHE_TTL_LIBRARIES": "3600",
        "PLEX_CACHE_TTL_SEARCH": "3600",
    }
    timed_app, base = start_gunicorn(
        env, workers=args.workers, threads=args.threads, log=tmp / "gunicorn-floor.log"
    )
    processes.append(timed_app)
    api = {"Authorization": f"Token {api_token}", "Accept": "application/json"}
    listed = requests.get(f"{base}/api/v1/plex/libraries/1/items?limit=50", headers=api, timeout=60)
    if listed.status_code != 200:
        raise SystemExit(f"library 1's items: {listed.status_code} {listed.text[:300]}")
    movie = next(item for item in listed.json()["items"] if item["type"] == "movie")
    key = movie["ratingKey"]
    endpoints = [
        Endpoint("/healthz/live (floor)", FLOOR, "none"),
        Endpoint("/api/v1/", "/api/v1/", "token"),
        Endpoint("API items?limit=50", "/api/v1/plex/libraries/1/items?limit=50", "token", True, 3),
        Endpoint("API item (movie)", f"/api/v1/plex/items/{key}", "token", True, 3),
        Endpoint("API recently-added", "/api/v1/plex/recently-added", "token", True, 3),
        Endpoint("HTML /library/1/", "/library/1/", "session", aim=5),
        Endpoint("HTML /item/KEY/", f"/item/{key}/", "session"),
    ]
    ways = len(endpoints)

    # Counting first, on a gunicorn of its own: the others are idle meanwhile, so PostgreSQL's
    # figures for the bench's database are the counting one's alone.
    own_redis = RedisServer(tmp)
    store = redis.Redis(host="127.0.0.1", port=own_redis.port, socket_timeout=5)
    try:
        counting_env = {**env, "MEDIANEST_BENCH_COUNTERS": "1", "REDIS_URL": own_redis.url}
        counter_app, counter_base = start_gunicorn(
            counting_env, workers=1, log=tmp / "gunicorn-counting.log"
        )
        processes.append(counter_app)
        cookies = login(counter_base, "bench", PASSWORD)
        make_sessions = sessions_for(api_token, cookies)
        warm(counter_base, endpoints, make_sessions)
        counts_started = time.perf_counter()
        counts = count(
            counter_base, endpoints, make_sessions, args.floor_count, store, pg, plex_url
        )
        counts_took = time.perf_counter() - counts_started
    finally:
        store.close()
        own_redis.stop()

    # Timing, interleaved.
    warm(base, endpoints, make_sessions)
    biggest = max(args.floor_concurrency)
    warm_up, _ = interleaved(base, endpoints, make_sessions, max(ways * 40, biggest * 20), biggest)
    check("warm-up", endpoints, warm_up)
    runs = []
    requests.post(f"{plex_url}/__emulator__/stats/reset", timeout=10).raise_for_status()
    for conc in args.floor_concurrency:
        samples, elapsed = interleaved(
            base, endpoints, make_sessions, args.floor_requests * ways, conc, args.floor_duration
        )
        check(f"concurrency {conc}", endpoints, samples)
        runs.append((conc, samples, elapsed))
    upstream = requests.get(f"{plex_url}/__emulator__/stats", timeout=10).json()

    print(
        f"Floor: warm endpoints against GET {FLOOR}, interleaved (request n asks for endpoint "
        f"n % {ways}); gunicorn {args.workers_label}, {args.db_label}"
    )
    print(
        f"  movie {key} ({movie.get('title', '?')}); aims: API page p50 <= 3x, HTML library <= 5x"
    )
    header = (
        f"{'endpoint':<24} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} "
        f"{'p50/fl':>6} {'p99/fl':>6}  aim (p50)"
    )
    for conc, samples, elapsed in runs:
        total = sum(len(s.latencies) for s in samples)
        print()
        print(
            f"concurrency {conc}: {total} requests in {elapsed:.1f} s, {total / elapsed:.0f} req/s "
            f"in all; req/s = {conc} / mean latency"
        )
        print(header)
        print("-" * len(header))
        base_p50, base_p99 = samples[0].pct(50), samples[0].pct(99)
        for endpoint, got in zip(endpoints, samples, strict=True):
            r50, r99 = got.pct(50) / base_p50, got.pct(99) / base_p99
            aim = ""
            if endpoint.aim is not None:
                aim = f"<= {endpoint.aim:.0f}x {'met' if r50 <= endpoint.aim else 'MISSED'}"
            print(
                f"{endpoint.name:<24} {got.pct(50):>7.2f} {got.pct(99):>7.2f} "
                f"{got.rate(conc):>7.0f} {r50:>6.2f} {r99:>6.2f}  {aim}"
            )
    if upstream["requests"]:
        print(f"  WARNING: the emulator saw {upstream['requests']} requests: {upstream['by_path']}")
    else:
        print("  upstream (emulator) requests during the timed runs: 0")

    print()
    print(
        f"Per request: {args.floor_count} requests per endpoint, alone, one at a time, on a "
        f"second gunicorn (1 worker, MEDIANEST_BENCH_COUNTERS=1, a redis-server of its own); "
        f"{counts_took:.0f} s"
    )
    header = (
        f"{'endpoint':<24} {'DB queries':>10} {'DB writes':>9} {'PG xacts':>8} {'Redis':>6} "
        f"{'Plex':>5}  "
    )
    print(header + "Redis commands per request")
    print("-" * (len(header) + 26))
    for endpoint, got in zip(endpoints, counts, strict=True):
        xacts = f"{got.xacts:.2f}" if got.xacts is not None else "n/a"
        calls = f"{got.redis:.2f}" if got.redis is not None else "n/a"
        by_command = ", ".join(
            f"{name} {number / args.floor_count:g}"
            for name, number in sorted(got.redis_by_command.items())
            if number
        )
        plex = sum(got.upstream.values()) / args.floor_count
        print(
            f"{endpoint.name:<24} {got.queries:>10.2f} {got.writes:>9.2f} {xacts:>8} "
            f"{calls:>6} {plex:>5.2f}  {by_command or '-'}"
        )
    for endpoint, got in zip(endpoints, counts, strict=True):
        if got.upstream:
            print(f"  Plex requests while counting {endpoint.path}: {dict(got.upstream)}")
    if pg is None:
        print("  PG xacts: n/a (SQLite: the server's transaction counts are PostgreSQL's)")
