"""`python -m plex_emulator`: serve a Plex Media Server emulator until interrupted."""

from __future__ import annotations

import argparse
import sys

from . import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plex_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=32400, help="0 picks a free port")
    parser.add_argument("--owner-token", default="owner-token-0123456789")
    parser.add_argument("--friend-token", default="friend-token-0123456789")
    parser.add_argument(
        "--stranger-token", default=None, help="the token of the stranger's own (absent) server"
    )
    parser.add_argument("--movies", type=int, default=120)
    parser.add_argument("--shows", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--friends",
        type=int,
        default=0,
        metavar="N",
        help="N more shared users, accounts friend-1 ... friend-N with tokens "
        "<friend-token>-1 ... <friend-token>-N, each with watch state of its own (benchmarks)",
    )
    args = parser.parse_args(argv)
    if args.movies < 0 or args.shows < 0 or args.friends < 0:
        parser.error("--movies, --shows and --friends must be 0 or more")
    emulator = Emulator(
        owner_token=args.owner_token,
        friend_token=args.friend_token,
        movies=args.movies,
        shows=args.shows,
        seed=args.seed,
        host=args.host,
        port=args.port,
        stranger_token=args.stranger_token,
    )
    for n in range(1, args.friends + 1):
        emulator.add_account(f"friend-{n}", f"{args.friend_token}-{n}")
    try:
        emulator.start()
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"Plex emulator at {emulator.url}", flush=True)
    print(f"owner token:  {emulator.owner_token}", flush=True)
    print(f"friend token: {emulator.friend_token}", flush=True)
    if args.friends:
        print(
            f"{args.friends} more friends: accounts friend-1 ... friend-{args.friends}, "
            f"tokens {emulator.friend_token}-1 ... {emulator.friend_token}-{args.friends}",
            flush=True,
        )
    # plex.tv account tokens: fresh each run, for /api/v2/user and /api/v2/resources.
    for account in emulator.accounts.values():
        print(f"{account.key} account token (plex.tv): {account.auth_token}", flush=True)
    # What plex.tv lists for the server: none of them is the URL above (plextv.py).
    kinds = {
        emulator.dead_url: "dead: accepts, never answers",
        emulator.impostor_url: f"impostor: another server, {emulator.impostor_identifier}",
        emulator.live_url: "live: this server",
    }
    for published in emulator.connections():
        where = "local" if published["local"] else "remote"
        kind = kinds.get(published["uri"], "")
        print(f"published connection ({where}): {published['uri']}  {kind}", flush=True)
    try:
        emulator._thread.join()  # type: ignore[union-attr]
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
