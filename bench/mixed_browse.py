"""The mixed browse run of bench/api_load.py: many users browsing a library that changes, with
the event listener (manage.py plex_events) on and then off.

- Users: `--mixed-users` MediaNest users (default 100), each with a Plex token of its own: the
  emulator runs with `--friends N+1`, shared users `friend-1` ... with tokens
  `<FRIEND_TOKEN>-1` ...; the last one is the freshness checker's, not part of the load.
- Page views: a seeded sequence of (user, API page) pairs, the page drawn from a zipf-like
  distribution over a fixed catalogue of what a browsing user asks for, the user uniformly.
  They are sent open loop at `--mixed-rate` views/s by `--mixed-threads` threads, so both
  modes send the same views at the same moments.
- The library changes on a fixed schedule (the same in both modes): every `--change-every`
  seconds a movie is added, or the oldest one the run added is removed, and every
  `--play-every` seconds some user stops playing a movie.
- Freshness check: after each addition, the checker polls recently-added until the movie is
  there (or 3 s have passed). With events on it must be there within 3 s.
- Modes cannot be interleaved (the listener is on or off for the whole server): events off
  runs first, then events on, on the same stack, each from an empty cache (Redis emptied),
  the emulator's library, watch state and request counts reset.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1/plex/"
CHECK_WITHIN = 3.0  # seconds: events on, a new movie must be in recently-added by then
CHECK_POLL = 0.1
# Upstream requests that are not Plex API answers to the page views: images (not in the mix).
NOT_COUNTED = ("/photo",)

CREATE_USERS = """
from accounts.models import User
from rest_framework.authtoken.models import Token

prefix, count = {prefix!r}, {count}
for n in range(1, count + 1):
    user, _ = User.objects.get_or_create(username=f"friend-{{n}}")
    user.set_plex_token(f"{{prefix}}-{{n}}")
    user.set_unusable_password()
    user.save()
    print(user.username, Token.objects.get_or_create(user=user)[0].key)
"""


@dataclass
class Mode:
    name: str
    views: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    cache: Counter[str] = field(default_factory=Counter)
    lag_max: float = 0.0  # how far behind schedule a view was sent, at worst
    upstream: int = 0
    upstream_paths: Counter[str] = field(default_factory=Counter)
    delays: list[float] = field(default_factory=list)  # additions seen by the checker
    unseen: int = 0  # additions the checker did not see within CHECK_WITHIN
    check_requests: int = 0
    check_misses: int = 0
    changes: Counter[str] = field(default_factory=Counter)

    def pct(self, p: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies if values is None else values)
        if not ordered:
            return float("nan")
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000

    def share(self, state: str) -> float:
        return self.cache[state] / self.views if self.views else 0.0

    @property
    def per_thousand(self) -> float:
        return self.upstream * 1000 / self.views if self.views else float("nan")


# -- setup ---------------------------------------------------------------------------------


def create_users(env: dict[str, str], friend_token: str, count: int) -> list[str]:
    """friend-1 ... friend-`count` with Plex tokens `<friend_token>-n`, in one manage.py
    shell (100 `manage.py plex_user` runs would take a Django start-up each); API tokens."""
    script = CREATE_USERS.format(prefix=friend_token, count=count)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tokens = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("friend-")]
    if result.returncode != 0 or len(tokens) != count:
        raise RuntimeError(f"creating users failed:\n{result.stdout}\n{result.stderr}")
    return tokens


def catalogue(base: str, plex_url: str, owner_token: str, api_token: str) -> list[str]:
    """The API pages a browsing user asks for, most popular first."""
    plex = {"X-Plex-Token": owner_token, "Accept": "application/json"}

    def plex_get(path: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{plex_url}{path}", headers=plex, timeout=30)
        answer.raise_for_status()
        return answer.json()["MediaContainer"].get("Metadata", [])

    movies = plex_get("/library/sections/1/all?sort=titleSort:asc")
    shows = plex_get("/library/sections/3/all?sort=titleSort:asc")
    headers = {"Authorization": f"Token {api_token}", "Accept": "application/json"}
    filters = requests.get(f"{base}{API}libraries/1/filters", headers=headers, timeout=60)
    filters.raise_for_status()
    genres = sorted(filters.json()["genre"], key=lambda choice: -(choice["count"] or 0))
    pages = max(1, min(40, math.ceil(len(movies) / 50)))

    head = [
        "libraries/1/items?offset=0&limit=50",
        "recently-added",
        "continue-watching",
        "libraries",
        "libraries/3/items?offset=0&limit=50",
        "libraries/1/items?offset=50&limit=50",
        "libraries/1/items?offset=0&limit=50&sort=addedAt:desc",
        "search?q=the",
    ]
    groups = [
        [f"libraries/1/items?offset={k * 50}&limit=50" for k in range(2, pages)],
        [f"items/{movie['ratingKey']}" for movie in movies[:40]],
        [f"items/{show['ratingKey']}/children" for show in shows[:6]]
        + [
            "libraries/3/items?offset=0&limit=50&sort=addedAt:desc",
            "libraries/3/items?offset=0&limit=50&sort=rating:desc",
            "libraries/3/filters",
        ],
        [f"search?q={q}" for q in ("star", "love", "night", "war", "man")],
        [
            "libraries/1/items?offset=0&limit=50&unwatched=1",
            "libraries/1/filters",
            *(f"libraries/1/items?offset=0&limit=50&genre={g['value']}" for g in genres[:4]),
        ],
    ]
    merged = list(head)
    while any(groups):  # round robin: each kind of page at every popularity
        for group in groups:
            if group:
                merged.append(group.pop(0))
    return merged


def views(count: int, users: int, pages: int, s: float, seed: int) -> list[tuple[int, int]]:
    """(user index, page index) for each view: pages zipf-like (weight 1/rank^s), users
    uniformly; seeded, so both modes send the same views."""
    rng = random.Random(seed)
    weights = [1 / (rank**s) for rank in range(1, pages + 1)]
    chosen = rng.choices(range(pages), weights=weights, k=count)
    return [(rng.randrange(users), page) for page in chosen]


@dataclass(frozen=True)
class Change:
    at: float  # seconds after the start
    kind: str  # "add", "remove" or "play"
    n: int  # which addition, or which user plays


def schedule(
    duration: float, change_every: float, play_every: float, users: int, seed: int
) -> list[Change]:
    """Additions and removals alternate (each added movie lives about 3 ticks); plays by a
    seeded user now and then. The same list in both modes."""
    rng = random.Random(seed + 1)
    changes: list[Change] = []
    added = removed = 0
    tick = 0
    while (at := 1.0 + tick * change_every) < duration - CHECK_WITHIN:
        if tick % 2 == 0:
            changes.append(Change(at, "add", added))
            added += 1
        elif added - removed >= 2:
            changes.append(Change(at, "remove", removed))
            removed += 1
        tick += 1
    at = play_every / 2
    while play_every > 0 and at < duration:
        changes.append(Change(at, "play", rng.randrange(users) + 1))
        at += play_every
    return sorted(changes, key=lambda change: change.at)


# -- one mode ------------------------------------------------------------------------------


def run_mode(
    mode: Mode,
    *,
    base: str,
    plex_url: str,
    tokens: list[str],
    checker_token: str,
    pages: list[str],
    sequence: list[tuple[int, int]],
    changes: list[Change],
    popular: list[str],
    rate: float,
    threads: int,
    duration: float,
) -> None:
    """Send `sequence` at `rate` views/s for `duration` seconds while `changes` happen."""
    control = requests.Session()
    control.post(f"{plex_url}/__emulator__/stats/reset", timeout=10).raise_for_status()
    started = time.perf_counter()
    stop_at = started + duration
    counter = iter(range(len(sequence)))
    lock = threading.Lock()
    results: list[tuple[float, int, str, float]] = []

    def worker() -> None:
        sessions: dict[int, requests.Session] = {}
        mine: list[tuple[float, int, str, float]] = []
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            due = started + n / rate
            if due >= stop_at:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            user, page = sequence[n]
            session = sessions.get(user)
            if session is None:
                session = sessions[user] = requests.Session()
                session.headers.update(
                    {"Authorization": f"Token {tokens[user]}", "Accept": "application/json"}
                )
            sent = time.perf_counter()
            answer = session.get(f"{base}{API}{pages[page]}", timeout=60)
            took = time.perf_counter() - sent
            mine.append((took, answer.status_code, answer.headers.get("X-Cache", "-"), sent - due))
        for session in sessions.values():
            session.close()
        with lock:
            results.extend(mine)

    checks: list[threading.Thread] = []
    check_lock = threading.Lock()
    checker = requests.Session()
    checker.headers.update(
        {"Authorization": f"Token {checker_token}", "Accept": "application/json"}
    )

    def check(rating_key: str, since: float) -> None:
        """Poll recently-added as the checker until `rating_key` is in it, or give up."""
        while (waited := time.perf_counter() - since) <= CHECK_WITHIN:
            answer = checker.get(f"{base}{API}recently-added", timeout=30)
            with check_lock:
                mode.check_requests += 1
                mode.check_misses += answer.headers.get("X-Cache") != "HIT"
            if answer.status_code == 200 and any(
                item.get("ratingKey") == rating_key for item in answer.json()
            ):
                with check_lock:
                    mode.delays.append(time.perf_counter() - since)
                return
            time.sleep(max(0.0, min(CHECK_POLL, CHECK_WITHIN - waited)))
        with check_lock:
            mode.unseen += 1

    def library() -> None:
        added: list[str] = []
        for change in changes:
            wait = started + change.at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            since = time.perf_counter()
            if change.kind == "add":
                answer = control.post(
                    f"{plex_url}/__emulator__/library/items",
                    json={"section": "1", "title": f"Bench Arrival {change.n}", "year": 2026},
                    timeout=10,
                )
                answer.raise_for_status()
                added.append(answer.json()["ratingKey"])
                thread = threading.Thread(target=check, args=(added[-1], since), daemon=True)
                thread.start()
                checks.append(thread)
            elif change.kind == "remove":
                control.delete(
                    f"{plex_url}/__emulator__/library/items/{added[change.n]}", timeout=10
                ).raise_for_status()
            else:
                control.post(
                    f"{plex_url}/__emulator__/play",
                    json={
                        "account": f"friend-{change.n}",
                        "ratingKey": popular[change.n % len(popular)],
                        "viewOffset": 600_000,
                        "state": "stopped",
                    },
                    timeout=10,
                ).raise_for_status()
            mode.changes[change.kind] += 1

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    changer = threading.Thread(target=library, daemon=True)
    for thread in [*workers, changer]:
        thread.start()
    for thread in workers:
        thread.join()
    mode.elapsed = time.perf_counter() - started
    changer.join()
    for thread in checks:
        thread.join()
    checker.close()

    stats = control.get(f"{plex_url}/__emulator__/stats", timeout=10).json()
    control.close()
    mode.upstream_paths = Counter(
        {
            path: count
            for path, count in stats["by_path"].items()
            if not path.startswith(NOT_COUNTED)
        }
    )
    mode.upstream = sum(mode.upstream_paths.values())
    mode.views = len(results)
    mode.latencies = [took for took, _, _, _ in results]
    mode.statuses = Counter(status for _, status, _, _ in results)
    mode.cache = Counter(state for _, _, state, _ in results)
    mode.lag_max = max((lag for _, _, _, lag in results), default=0.0)


# -- the listener --------------------------------------------------------------------------


def health(base: str) -> dict[str, Any]:
    answer = requests.get(f"{base}/healthz", timeout=10)
    try:
        return answer.json()
    except ValueError:
        raise RuntimeError(f"/healthz answered {answer.status_code}: {answer.text[:500]}") from None


def wait_for_events(base: str, state: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            said = health(base).get("events")
            if said == state:
                return
            last = f"events {said!r}"
        except (RuntimeError, requests.RequestException) as exc:  # once: say so, try again
            last = str(exc)
            print(f"  (waiting for events {state!r}: {last[:200]})")
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(
        f"/healthz did not say events {state!r} within {timeout:.0f} s ({last}); "
        f"gunicorn's log ends:\n{tail}"
    )


def start_listener(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "plex_events"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def warm_up(base: str, tokens: list[str]) -> None:
    """One answer with watch state per user before either mode, so that neither pays alone
    for what is made once per process (each user's Plex client in gunicorn, each account's
    watch state in the emulator). Its cache entries are emptied before each mode."""
    for token in tokens:
        answer = requests.get(
            f"{base}{API}continue-watching",
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            timeout=60,
        )
        answer.raise_for_status()


def reset_emulator(plex_url: str) -> None:
    requests.post(f"{plex_url}/__emulator__/library/reset", timeout=10).raise_for_status()
    requests.post(f"{plex_url}/__emulator__/watch/reset", json={}, timeout=10).raise_for_status()


# -- the whole run -------------------------------------------------------------------------


def mixed(
    args: Any,
    *,
    env: dict[str, str],
    base: str,
    plex_url: str,
    store: redis.Redis,
    owner_token: str,
    friend_token: str,
    tmp: Path,
    processes: list[subprocess.Popen],
    manage: Any,
) -> bool:
    """Both modes, printed; False when the freshness check failed with events on."""
    setup_started = time.perf_counter()
    tokens = create_users(env, friend_token, args.mixed_users + 1)
    checker_token, tokens = tokens[-1], tokens[:-1]
    manage(env, "plex_configure", "--owner-token", owner_token)
    pages = catalogue(base, plex_url, owner_token, tokens[0])
    popular = [page.removeprefix("items/") for page in pages if page.startswith("items/")]
    popular = [key for key in popular if "/" not in key]  # movies, not a show's children
    total = int(args.mixed_rate * args.mixed_duration)
    sequence = views(total, len(tokens), len(pages), args.zipf, args.seed)
    changes = schedule(
        args.mixed_duration, args.change_every, args.play_every, len(tokens), args.seed
    )
    setup = time.perf_counter() - setup_started

    print()
    print(
        f"Mixed browse: {len(tokens)} users (own Plex tokens {friend_token}-1..-{len(tokens)}), "
        f"{len(pages)} API pages, zipf s={args.zipf}, seed {args.seed}; "
        f"{args.mixed_rate:g} views/s open loop by {args.mixed_threads} threads for "
        f"{args.mixed_duration:g} s; setup {setup:.1f} s"
    )
    kinds = Counter(change.kind for change in changes)
    print(
        f"  library changes, same schedule in both modes: {kinds['add']} movies added, "
        f"{kinds['remove']} removed (one every {args.change_every:g} s), {kinds['play']} plays "
        f"stopped (one every {args.play_every:g} s)"
    )
    print(
        f"  TTLs as configured, not scaled: items/search "
        f"{env.get('PLEX_CACHE_TTL_ITEMS', '60')} s, libraries "
        f"{env.get('PLEX_CACHE_TTL_LIBRARIES', '300')} s, live "
        f"{env['PLEX_CACHE_TTL_LIVE']} s; the run is longer than the 60-s TTLs"
    )
    print(
        "  Modes cannot be interleaved (the listener is on or off for the whole server): events "
        "off ran first, then events on, on the same stack (after one warm-up request per user), "
        "each from an empty cache (Redis emptied) and the emulator's library, watch state and "
        "counts reset."
    )

    warm_up(base, [*tokens, checker_token])
    results: list[Mode] = []
    for name in ("off", "on"):
        mode = Mode(name)
        store.flushdb()
        reset_emulator(plex_url)
        listener = None
        if name == "on":
            listener = start_listener(env, tmp / "plex_events.log")
            processes.append(listener)
        wait_for_events(base, "live" if name == "on" else "off", tmp / "gunicorn.log")
        run_mode(
            mode,
            base=base,
            plex_url=plex_url,
            tokens=tokens,
            checker_token=checker_token,
            pages=pages,
            sequence=sequence,
            changes=changes,
            popular=popular,
            rate=args.mixed_rate,
            threads=args.mixed_threads,
            duration=args.mixed_duration,
        )
        still = health(base).get("events")
        if listener is not None:
            listener.terminate()
            listener.wait(timeout=15)
            processes.remove(listener)
        results.append(mode)
        if still != ("live" if name == "on" else "off"):
            print(f"  WARNING: events {still!r} at the end of the {name} run")

    log = tmp / "gunicorn.log"
    errors = log.read_text(errors="replace").count("Traceback") if log.exists() else 0
    if errors:
        print(f"  WARNING: gunicorn's log has {errors} tracebacks (see {log.name})")
    print()
    header = (
        f"{'events':<7} {'views':>6} {'views/s':>7} {'HIT %':>6} {'STALE %':>7} "
        f"{'upstream':>8} {'per 1k views':>12} {'p50 ms':>7} {'p99 ms':>8} {'max lag s':>9}"
    )
    print(header)
    print("-" * len(header))
    for mode in results:
        print(
            f"{mode.name:<7} {mode.views:>6} {mode.views / mode.elapsed:>7.1f} "
            f"{mode.share('HIT') * 100:>6.1f} {mode.share('STALE') * 100:>7.1f} "
            f"{mode.upstream:>8} {mode.per_thousand:>12.1f} {mode.pct(50):>7.2f} "
            f"{mode.pct(99):>8.2f} {mode.lag_max:>9.2f}"
        )
    off, on = results
    print()
    print(f"upstream per 1k views, on/off: {on.per_thousand / off.per_thousand:.2f}")
    ok = True
    for mode in results:
        statuses = dict(mode.statuses)
        print(f"events {mode.name}: statuses {statuses}, X-Cache {dict(mode.cache)}")
        if set(statuses) != {200}:
            ok = False
            print("  FAIL: not every page view was answered 200")
        top = ", ".join(f"{path} {count}" for path, count in mode.upstream_paths.most_common(6))
        print(f"  upstream by path (top 6): {top}")
        seen = len(mode.delays)
        added = seen + mode.unseen
        delays = (
            f"p50 {mode.pct(50, mode.delays):.0f} ms, max {max(mode.delays) * 1000:.0f} ms"
            if mode.delays
            else "none seen"
        )
        print(
            f"  freshness: {seen}/{added} added movies in the checker's recently-added within "
            f"{CHECK_WITHIN:g} s ({delays}); checker requests {mode.check_requests}, of which "
            f"{mode.check_misses} not HIT (their upstream requests are in the figures above)"
        )
        if mode.name == "on" and (mode.unseen or not mode.delays):
            ok = False
            print(f"  FAIL: with events on, every addition must show within {CHECK_WITHIN:g} s")
    return ok
