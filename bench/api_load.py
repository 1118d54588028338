"""Load the JSON API served by gunicorn and print throughput, latency and upstream figures.

Everything runs in its own process: the Plex emulator (--movies 2000), gunicorn (2 sync
workers, or gthread ones with --threads N; gunicorn.conf.py otherwise; DEBUG off, a database and
a Redis database of their own) and this load generator
(threads, one requests.Session each). The database is PostgreSQL when --postgres-url's server
answers (a database of the bench's own, dropped after), else SQLite; --database sqlite|postgres
chooses.

    .venv/bin/python bench/api_load.py [--concurrency 8] [--requests 3000] [--duration 15]
                                       [--pages 40] [--burst 100] [--burst-threads 50]

Figures:
  1. warm cache: req/s, p50 and p99 of GET /api/v1/plex/libraries/1/items?limit=50 (a HIT);
  2. the same for GET /api/v1/ (authenticated, no Plex call), and the items/trivial ratios;
  3. cold cache: the latency of the first request for each of --pages distinct pages;
  4. coalescing: how many requests Plex sees for --burst concurrent identical cold requests;
  5. filters: a filtered page (a genre, unwatched) against the same page unfiltered, both
     warm, requests interleaved one for one in the same run;
  6. mixed browse (bench/mixed_browse.py): --mixed-users users, each with a Plex token of its
     own, browse a zipf-like mix of API pages for --mixed-duration seconds while the library
     changes, with the event listener (manage.py plex_events) off, then on: page views, hit
     ratio, upstream requests per 1,000 views, p50/p99, and how soon an added movie shows.
     --skip-mixed leaves it out, --only-mixed runs only it (about 4 minutes by default).
  7. floor (bench/floor.py, issue 12): each warm endpoint (the API root, items, an item,
     recently added, the HTML library and item pages) against GET /healthz/live, interleaved,
     at concurrency 1 and 16: p50, p99, req/s and the ratios to the floor's, beside the
     issue's aims; then database queries, writes, PostgreSQL transactions and Redis commands
     per request. --skip-floor leaves it out, --only-floor runs only it (about 2 minutes).

The per-user API throttle (1200/min by default) would cap one user at 20 req/s, so gunicorn
runs with API_THROTTLE_RATE=100000/s: the throttle's cache round trip is still measured.
REDIS_URL defaults to redis://127.0.0.1:6379/14 (BENCH_REDIS_URL or --redis-url), which is
emptied before and after.
"""

from __future__ import annotations

import argparse
import math
import os
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

from bench.floor import floor  # noqa: E402
from bench.mixed_browse import mixed  # noqa: E402
from harness.stack import (  # noqa: E402
    PostgresDatabase,
    manage,
    prepare_site,
    start_emulator,
    start_gunicorn,
    stop,
)

OWNER_TOKEN = "bench-owner-token-6c2f1a"
FRIEND_TOKEN = "bench-friend-token-0e9d44"
ITEMS = "/api/v1/plex/libraries/1/items?limit=50"
TRIVIAL = "/api/v1/"
UPSTREAM_PAGE = "/library/sections/1/all"


# -- load ----------------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float]  # seconds, one per request
    elapsed: float  # wall time of the whole run
    statuses: Counter[int]
    cache: Counter[str]  # X-Cache values
    numbers: list[int] = field(default_factory=list)  # which request each latency is

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


def run_load(
    base: str,
    headers: dict[str, str],
    paths: Callable[[int], str],
    total: int,
    concurrency: int,
    duration: float | None = None,
) -> Run:
    """`total` requests (or fewer if `duration` runs out) by `concurrency` threads, each with its
    own session; request number n asks for paths(n). All threads start together."""
    counter = iter(range(total))
    counter_lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    results: list[tuple[float, int, str, int]] = []
    results_lock = threading.Lock()
    stop_at: list[float] = [math.inf]

    def worker() -> None:
        session = requests.Session()
        session.headers.update(headers)
        mine: list[tuple[float, int, str, int]] = []
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            with counter_lock:
                n = next(counter, None)
            if n is None:
                break
            started = time.perf_counter()
            response = session.get(f"{base}{paths(n)}", timeout=60)
            elapsed = time.perf_counter() - started
            mine.append((elapsed, response.status_code, response.headers.get("X-Cache", "-"), n))
        session.close()
        with results_lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    if duration is not None:
        stop_at[0] = started + duration
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return Run(
        latencies=[latency for latency, _, _, _ in results],
        elapsed=elapsed,
        statuses=Counter(status for _, status, _, _ in results),
        cache=Counter(state for _, _, state, _ in results),
        numbers=[n for _, _, _, n in results],
    )


def split(run: Run, ways: int) -> list[Run]:
    """An interleaved run (request n asked for path n % ways) as one Run per path."""
    return [
        Run(
            latencies=[t for t, n in zip(run.latencies, run.numbers, strict=True) if n % ways == w],
            elapsed=run.elapsed,
            statuses=run.statuses,
            cache=run.cache,
        )
        for w in range(ways)
    ]


def check_ok(name: str, run: Run) -> None:
    if set(run.statuses) != {200}:
        raise SystemExit(f"{name}: not every answer was 200: {dict(run.statuses)}")


def emulator_stats(url: str) -> dict:
    return requests.get(f"{url}/__emulator__/stats", timeout=10).json()


def reset_emulator_stats(url: str) -> None:
    requests.post(f"{url}/__emulator__/stats/reset", timeout=10).raise_for_status()


# -- the benchmark -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=8, help="load threads (default 8)")
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per warm run (default 3000)"
    )
    parser.add_argument(
        "--duration", type=float, default=15.0, help="cap per warm run, seconds (default 15)"
    )
    parser.add_argument("--pages", type=int, default=40, help="cold pages (default 40)")
    parser.add_argument("--burst", type=int, default=100, help="identical cold requests")
    parser.add_argument("--burst-threads", type=int, default=50)
    parser.add_argument("--movies", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker: 1 (default) runs sync workers, more the gthread worker",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="a Redis database the benchmark may empty",
    )
    parser.add_argument(
        "--database",
        choices=["auto", "postgres", "sqlite"],
        default="auto",
        help="auto (default): PostgreSQL when --postgres-url answers, else SQLite",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (and a database to connect to) where the bench may create one",
    )
    mixed_args = parser.add_argument_group("mixed browse (6)")
    only = mixed_args.add_mutually_exclusive_group()
    only.add_argument("--skip-mixed", action="store_true", help="leave out the mixed run")
    only.add_argument("--only-mixed", action="store_true", help="run only the mixed run")
    only.add_argument("--only-floor", action="store_true", help="run only the floor run (7)")
    mixed_args.add_argument(
        "--mixed-duration", type=float, default=90.0, help="seconds per mode (default 90)"
    )
    mixed_args.add_argument("--mixed-users", type=int, default=100, help="(default 100)")
    mixed_args.add_argument(
        "--mixed-rate", type=float, default=50.0, help="page views per second (default 50)"
    )
    mixed_args.add_argument("--mixed-threads", type=int, default=16, help="(default 16)")
    mixed_args.add_argument(
        "--change-every", type=float, default=3.0, help="seconds between library changes"
    )
    mixed_args.add_argument(
        "--play-every", type=float, default=7.0, help="seconds between plays (0: none)"
    )
    mixed_args.add_argument("--zipf", type=float, default=1.0, help="page popularity exponent")
    mixed_args.add_argument("--seed", type=int, default=7)
    floor_args = parser.add_argument_group("floor (7)")
    floor_args.add_argument("--skip-floor", action="store_true", help="leave out the floor run")
    floor_args.add_argument(
        "--floor-concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 16],
        help="client threads of each timed run, comma-separated (default 1,16)",
    )
    floor_args.add_argument(
        "--floor-requests", type=int, default=300, help="per endpoint and run (default 300)"
    )
    floor_args.add_argument(
        "--floor-duration", type=float, default=30.0, help="cap per timed run, s (default 30)"
    )
    floor_args.add_argument(
        "--floor-count", type=int, default=100, help="requests per endpoint counted (default 100)"
    )
    args = parser.parse_args(argv)
    if args.only_floor and args.skip_floor:
        parser.error("--only-floor and --skip-floor together leave nothing to run")
    if min(args.floor_concurrency, default=0) < 1 or min(args.floor_requests, args.floor_count) < 1:
        parser.error("floor run: concurrencies, --floor-requests and --floor-count must be >= 1")
    if min(args.concurrency, args.requests, args.pages, args.burst, args.burst_threads) < 1:
        parser.error("counts must be 1 or more")
    if (
        min(args.mixed_users, args.mixed_threads) < 1
        or min(args.mixed_duration, args.mixed_rate, args.change_every) <= 0
    ):
        parser.error("mixed run: users, threads, duration, rate and --change-every must be > 0")
    with_mixed = not (args.skip_mixed or args.only_floor)
    with_floor = not (args.skip_floor or args.only_mixed)
    with_report = not (args.only_mixed or args.only_floor)

    store = redis.Redis.from_url(args.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        store.flushdb()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis at {args.redis_url} does not answer: {exc}") from None

    use_pg = args.database == "postgres" or (
        args.database == "auto" and PostgresDatabase.available(args.postgres_url)
    )
    if use_pg and args.database == "postgres" and not PostgresDatabase.available(args.postgres_url):
        raise SystemExit(f"PostgreSQL at {args.postgres_url} does not answer")
    pg = PostgresDatabase(args.postgres_url) if use_pg else None
    args.db_label = f"PostgreSQL (database {pg.name})" if pg else "SQLite"
    args.workers_label = (
        f"{args.workers} gthread workers x {args.threads} threads"
        if args.threads > 1
        else f"{args.workers} sync workers"
    )

    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="medianest-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = {
            **os.environ,
            "DATABASE_URL": pg.url if pg else f"sqlite:///{tmp / 'db.sqlite3'}",
            "REDIS_URL": args.redis_url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-secret-key-9f8e7d6c5b4a3210-not-for-production-use-xyz",
            "ALLOWED_HOSTS": "127.0.0.1",
            "API_THROTTLE_RATE": "100000/s",
            "STATIC_ROOT": str(tmp / "static"),
            "PLEX_CACHE_TTL_LIVE": "3600",
            # Plain http on 127.0.0.1: the floor run's browser session must get its cookies.
            "SECURE_COOKIES": "0",
        }
        ok = True
        try:
            setup_started = time.perf_counter()
            emulator, plex_url = start_emulator(
                env,
                owner_token=OWNER_TOKEN,
                friend_token=FRIEND_TOKEN,
                movies=args.movies,
                # The mixed run's users, and one more for its freshness checker.
                friends=args.mixed_users + 1 if with_mixed else 0,
            )
            processes.append(emulator)
            api_token = prepare_site(
                env, emulator_url=plex_url, username="bench", plex_token=OWNER_TOKEN
            )
            app, base = start_gunicorn(
                env, workers=args.workers, threads=args.threads, log=tmp / "gunicorn.log"
            )
            processes.append(app)
            headers = {"Authorization": f"Token {api_token}", "Accept": "application/json"}
            setup = time.perf_counter() - setup_started
            if with_report:
                report(args, base, plex_url, headers, store, setup)
            else:
                part = "mixed browse" if args.only_mixed else "floor"
                print(
                    f"MediaNest API load, {part} only: gunicorn {args.workers_label}, "
                    f"DEBUG=0, {args.db_label}, Redis {args.redis_url}; emulator "
                    f"{args.movies} movies; {os.cpu_count()} CPUs (shared by all processes); "
                    f"setup {setup:.1f} s"
                )
            if with_floor:
                print()
                floor(
                    args,
                    env=env,
                    plex_url=plex_url,
                    api_token=api_token,
                    owner_token=OWNER_TOKEN,
                    tmp=tmp,
                    processes=processes,
                    pg=pg,
                )
            if with_mixed:
                ok = mixed(
                    args,
                    env=env,
                    base=base,
                    plex_url=plex_url,
                    store=store,
                    owner_token=OWNER_TOKEN,
                    friend_token=FRIEND_TOKEN,
                    tmp=tmp,
                    processes=processes,
                    manage=manage,
                )
        except RuntimeError as exc:  # a process that would not start: say why, no traceback
            raise SystemExit(str(exc)) from None
        finally:
            stop(processes)
            try:
                store.flushdb()
            finally:
                store.close()
                if pg:
                    pg.drop()
    return 0 if ok else 1


def report(
    args: argparse.Namespace,
    base: str,
    plex_url: str,
    headers: dict[str, str],
    store: redis.Redis,
    setup: float,
) -> None:
    conc = args.concurrency
    print(
        f"MediaNest API load: gunicorn {args.workers_label}, DEBUG=0, {args.db_label}, "
        f"Redis {args.redis_url}; emulator {args.movies} movies; {conc} client threads; "
        f"{os.cpu_count()} CPUs (shared by all processes); setup {setup:.1f} s"
    )
    print()

    # Warm-up: the page is cached once, then every worker process and connection is used.
    first = requests.get(f"{base}{ITEMS}", headers=headers, timeout=30)
    if first.status_code != 200:
        raise SystemExit(f"GET {ITEMS}: {first.status_code} {first.text[:300]}")
    warm_n = max(conc * 20, 200)
    check_ok("warm-up items", run_load(base, headers, lambda n: ITEMS, warm_n, conc))
    check_ok("warm-up trivial", run_load(base, headers, lambda n: TRIVIAL, warm_n, conc))

    # 1 and 2: warm cache versus the trivial view.
    items = run_load(base, headers, lambda n: ITEMS, args.requests, conc, args.duration)
    check_ok("items", items)
    if set(items.cache) != {"HIT"}:
        raise SystemExit(f"items: expected only cache HITs, got {dict(items.cache)}")
    trivial = run_load(base, headers, lambda n: TRIVIAL, args.requests, conc, args.duration)
    check_ok("trivial", trivial)
    # The same one request at a time: the cost of a request without queueing.
    solo = max(args.requests // 10, 50)
    items_solo = run_load(base, headers, lambda n: ITEMS, solo, 1, args.duration)
    check_ok("items, one at a time", items_solo)
    trivial_solo = run_load(base, headers, lambda n: TRIVIAL, solo, 1, args.duration)
    check_ok("trivial, one at a time", trivial_solo)

    # 5: filters, warm: a filtered page and the same page unfiltered, interleaved.
    filters = requests.get(f"{base}/api/v1/plex/libraries/1/filters", headers=headers, timeout=60)
    if filters.status_code != 200:
        raise SystemExit(f"filters: {filters.status_code} {filters.text[:300]}")
    genre = max(filters.json()["genre"], key=lambda choice: choice["count"] or 0)
    filtered_path = f"{ITEMS}&genre={genre['value']}&unwatched=1"
    pair = [ITEMS, filtered_path]
    # Pages of the same size, or the comparison would measure the item count.
    sizes = [
        len(requests.get(f"{base}{path}", headers=headers, timeout=60).json()["items"])
        for path in pair
    ]
    if sizes[0] != sizes[1]:
        raise SystemExit(f"filtered page has {sizes[1]} items, unfiltered {sizes[0]}")
    check_ok("warm-up filtered", run_load(base, headers, lambda n: pair[n % 2], warm_n, conc))
    both = run_load(base, headers, lambda n: pair[n % 2], args.requests, conc, args.duration)
    check_ok("filtered and unfiltered", both)
    if set(both.cache) != {"HIT"}:
        raise SystemExit(f"filtered: expected only cache HITs, got {dict(both.cache)}")
    unfiltered_run, filtered_run = split(both, 2)
    both_solo = run_load(base, headers, lambda n: pair[n % 2], solo, 1, args.duration)
    check_ok("filtered and unfiltered, one at a time", both_solo)
    unfiltered_solo, filtered_solo = split(both_solo, 2)

    # 3: cold cache, each page asked once, one at a time.
    store.flushdb()
    reset_emulator_stats(plex_url)
    cold = run_load(base, headers, lambda n: f"{ITEMS}&offset={n * 50}", args.pages, concurrency=1)
    check_ok("cold", cold)
    cold_upstream = emulator_stats(plex_url)["by_path"].get(UPSTREAM_PAGE, 0)

    # 4: a burst of identical cold requests.
    store.flushdb()
    reset_emulator_stats(plex_url)
    burst_path = f"{ITEMS}&offset=1000"
    burst = run_load(base, headers, lambda n: burst_path, args.burst, args.burst_threads)
    check_ok("burst", burst)
    stats = emulator_stats(plex_url)
    burst_upstream = stats["by_path"].get(UPSTREAM_PAGE, 0)

    rows = [
        ("warm items (HIT)", items, conc),
        ("trivial GET /api/v1/", trivial, conc),
        ("warm items (HIT), sequential", items_solo, 1),
        ("trivial, sequential", trivial_solo, 1),
        ("warm unfiltered, interleaved", unfiltered_run, conc),
        ("warm filtered, interleaved", filtered_run, conc),
        ("cold items, 1st request/page", cold, 1),
        ("burst, identical cold", burst, args.burst_threads),
    ]
    header = f"{'run':<30} {'conc':>4} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    for name, run, threads in rows:
        print(
            f"{name:<30} {threads:>4} {len(run.latencies):>8} {run.rate:>9.1f} "
            f"{run.pct(50):>8.2f} {run.pct(99):>8.2f}"
        )
    print()
    print(f"GET {ITEMS} (warm) vs GET {TRIVIAL}:")
    print(f"  throughput ratio items/trivial: {items.rate / trivial.rate:.2f}")
    print(f"  p50 ratio items/trivial:        {items.pct(50) / trivial.pct(50):.2f}")
    print(f"  p99 ratio items/trivial:        {items.pct(99) / trivial.pct(99):.2f}")
    print(f"  sequential p50 ratio:           {items_solo.pct(50) / trivial_solo.pct(50):.2f}")
    print()
    print(
        f"Filtered ({genre['title']}, unwatched) vs unfiltered, warm, interleaved, "
        f"{sizes[0]} items a page each:"
    )
    ratios = [
        ("p50", filtered_run.pct(50) / unfiltered_run.pct(50)),
        ("p99", filtered_run.pct(99) / unfiltered_run.pct(99)),
        ("sequential p50", filtered_solo.pct(50) / unfiltered_solo.pct(50)),
    ]
    for name, ratio in ratios:
        print(f"  {name + ' ratio filtered/unfiltered:':<42} {ratio:.2f}")
    print()
    print(f"Cold cache ({args.pages} distinct pages, offset 0..{(args.pages - 1) * 50}):")
    print(f"  p50 {cold.pct(50):.2f} ms, p99 {cold.pct(99):.2f} ms, X-Cache {dict(cold.cache)}")
    print(f"  upstream {UPSTREAM_PAGE} requests: {cold_upstream} (one per page expected)")
    print(f"  cold/warm p50 ratio (both sequential): {cold.pct(50) / items_solo.pct(50):.2f}")
    print()
    print(
        f"Coalescing: {args.burst} concurrent identical cold requests "
        f"({args.burst_threads} threads), GET {burst_path}:"
    )
    print(f"  upstream {UPSTREAM_PAGE} requests: {burst_upstream} (1 expected)")
    print(f"  upstream requests per 100 client requests: {burst_upstream * 100 / args.burst:.1f}")
    print(f"  all upstream requests: {stats['requests']}; X-Cache {dict(burst.cache)}")


if __name__ == "__main__":
    sys.exit(main())
