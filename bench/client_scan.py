"""Scan a whole 20,000-movie section page by page, three ways, and print the figures.

(a) MediaNest's PlexClient, (b) python-plexapi's section.all(), (c) bare requests + json with
the same paging. The emulator runs in its own process so that it does not share the GIL with
the client being measured. Each way runs --rounds times (interleaved); the median is reported.

    .venv/bin/python bench/client_scan.py [--movies 20000] [--page-size 100] [--rounds 3]

Aim: (a) within 1.25x of (c), and faster than (b).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.stack import start_emulator  # noqa: E402
from plex.client import PlexClient  # noqa: E402

TOKEN = "bench-owner-token"
FRIEND = "bench-friend-token"
SECTION = "1"


def start_plex(movies: int) -> tuple[subprocess.Popen[str], str]:
    return start_emulator(dict(os.environ), owner_token=TOKEN, friend_token=FRIEND, movies=movies)


def scan_client(url: str, page_size: int) -> int:
    client = PlexClient(url, TOKEN, timeout=10)
    offset, seen = 0, 0
    while True:
        page = client.library_items(SECTION, offset=offset, limit=page_size)
        seen += len(page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total_size:
            return seen


def scan_plexapi(url: str, page_size: int) -> int:
    from plexapi.server import PlexServer

    server = PlexServer(url, TOKEN, timeout=10)
    return len(server.library.sectionByID(int(SECTION)).all(container_size=page_size))


def scan_requests(url: str, page_size: int) -> int:
    session = requests.Session()
    offset, seen = 0, 0
    while True:
        response = session.get(
            f"{url}/library/sections/{SECTION}/all",
            headers={
                "X-Plex-Token": TOKEN,
                "Accept": "application/json",
                "X-Plex-Container-Start": str(offset),
                "X-Plex-Container-Size": str(page_size),
            },
            timeout=10,
        )
        response.raise_for_status()
        container = response.json()["MediaContainer"]
        items = container.get("Metadata", [])
        seen += len(items)
        offset += len(items)
        if not items or offset >= container["totalSize"]:
            return seen


def measure(url: str, scan: Callable[[str, int], int], page_size: int) -> tuple[float, int, int]:
    requests.post(f"{url}/__emulator__/stats/reset", timeout=5)
    started = time.perf_counter()
    count = scan(url, page_size)
    elapsed = time.perf_counter() - started
    connections = requests.get(f"{url}/__emulator__/stats", timeout=5).json()["connections"]
    return elapsed, count, connections


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--movies", type=int, default=20000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    os.environ.setdefault("PLEXAPI_HEADER_IDENTIFIER", "medianest-bench")
    proc, url = start_plex(args.movies)
    ways = {
        "a PlexClient": scan_client,
        "b python-plexapi": scan_plexapi,
        "c requests+json": scan_requests,
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    facts: dict[str, tuple[int, int]] = {}
    try:
        for _ in range(args.rounds):
            for name, scan in ways.items():
                elapsed, count, connections = measure(url, scan, args.page_size)
                if count != args.movies:
                    raise SystemExit(f"{name} saw {count} items, expected {args.movies}")
                times[name].append(elapsed)
                facts[name] = (count, connections)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print(f"{args.movies} movies, pages of {args.page_size}, median of {args.rounds} rounds")
    print(f"{'way':<18} {'wall s':>8} {'items/s':>10} {'TCP conns':>10}")
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in median.items():
        count, connections = facts[name]
        print(f"{name:<18} {seconds:>8.3f} {count / seconds:>10.0f} {connections:>10}")
    client = median["a PlexClient"]
    print(f"a/c (client vs bare requests, aim <= 1.25): {client / median['c requests+json']:.3f}")
    print(f"a/b (client vs python-plexapi, aim < 1):    {client / median['b python-plexapi']:.3f}")


if __name__ == "__main__":
    main()
