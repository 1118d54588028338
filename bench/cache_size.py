"""How much Redis a cached page of a library costs, and what 100 users paging a 100,000-item
library would hold.

Fetches --pages pages of --limit movies each from the emulator through MediaNest's own service
layer (the same keys and values the app stores), into a Redis database of its own, once with
the compression production uses and once without (same run, same pages), and prints Redis's
own `MEMORY USAGE` per cached page.

    .venv/bin/python bench/cache_size.py [--movies 3000] [--pages 20] [--limit 100]

Aim (issue 12): a cached 100-item page <= 25 KB; 100 users x 100,000 items <= 2.5 GB.
It runs a redis-server of its own (nothing else's keys counted, nobody's emptied).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.stack import RedisServer  # noqa: E402

USERS, LIBRARY_ITEMS = 100, 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movies", type=int, default=3000)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="medianest-bench-") as tmp:
        # A redis-server of its own: nothing else's keys in the count, nobody else's emptied.
        try:
            server = RedisServer(Path(tmp))
        except (OSError, RuntimeError) as exc:
            raise SystemExit(f"cannot start redis-server: {exc}") from None
        args.redis_url = server.url
        store = redis.Redis.from_url(server.url, socket_connect_timeout=2)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "medianest.settings",
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'db.sqlite3'}",
                "REDIS_URL": args.redis_url,
                "DEBUG": "0",
                "SECRET_KEY": "bench-secret-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0-not-for-use",
                "ALLOWED_HOSTS": "127.0.0.1",
            }
        )
        import django

        django.setup()
        try:
            sizes = measure(args, store)
        finally:
            store.close()
            server.stop()
    report(args, sizes)
    return 0


def measure(args: argparse.Namespace, store: redis.Redis) -> dict[str, list[int]]:
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command

    from accounts.models import User
    from plex.connections import forget_all
    from plex.models import ServiceConfig
    from plex.services import PlexService, check_connection
    from plex_emulator import Emulator

    call_command("migrate", "--noinput", verbosity=0)
    sizes: dict[str, list[int]] = {}
    with Emulator(movies=args.movies, shows=2) as emulator:
        config = ServiceConfig.objects.create(url=emulator.url)
        check_connection(config, emulator.owner_token)
        user = User.objects.create(username="bench", plex_token=emulator.owner_token)
        options = settings.CACHES["default"]["OPTIONS"]
        for label, compressor in (
            ("compressed (zlib, as configured)", options.get("COMPRESSOR")),
            ("uncompressed", None),
        ):
            store.flushdb()
            if compressor:
                options["COMPRESSOR"] = compressor
            else:
                options.pop("COMPRESSOR", None)
            caches["default"].close()
            del caches["default"]  # rebuilt with these options on next use
            forget_all()
            service = PlexService.for_user(User.objects.get(pk=user.pk))
            for page in range(args.pages):
                result = service.library_items("1", page * args.limit, args.limit)
                assert len(result.value.items) == args.limit, "the library is too small"
            keys = [key for key in store.scan_iter("*plex:v1*:items:*")]
            assert len(keys) == args.pages, keys
            sizes[label] = [int(store.memory_usage(key) or 0) for key in keys]
        options["COMPRESSOR"] = "django_redis.compressors.zlib.ZlibCompressor"
    return sizes


def report(args: argparse.Namespace, sizes: dict[str, list[int]]) -> None:
    print(
        f"A cached page of {args.limit} movies (median of {args.pages} pages, Redis MEMORY "
        f"USAGE, one key per page):"
    )
    pages_per_user = LIBRARY_ITEMS // args.limit
    for label, found in sizes.items():
        per_page = statistics.median(found)
        total = per_page * pages_per_user * USERS
        print(
            f"  {label:<34} {per_page / 1024:7.1f} KB a page; {USERS} users x "
            f"{LIBRARY_ITEMS:,} items ({pages_per_user} pages each): {total / 1e9:5.2f} GB"
        )
    compressed, plain = (statistics.median(found) for found in sizes.values())
    print(f"  compression ratio: {plain / compressed:.1f}x")
    print("Aims: a page <= 25 KB; 100 users x 100,000 items <= 2.5 GB.")


if __name__ == "__main__":
    raise SystemExit(main())
