"""Make sure the services the test run is configured for are up.

Reads DATABASE_URL, REDIS_URL and TEST_REDIS_URL. For a PostgreSQL or Redis on this machine that
does not answer, it tries the usual start command once; if the service still does not answer,
it exits non-zero with a message that says how to start it. SQLite and unset URLs need nothing.
Standard library only: it runs before anything else is known to work.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

LOCAL = {"127.0.0.1", "localhost", "::1"}

START = {
    "postgres": (
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
        "pg_ctlcluster",
    ),
    "redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port {port} --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
        "redis-server",
    ),
}


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def ensure(variable: str, kind: str, host: str, port: int) -> str | None:
    """None when the service answers, else a message saying how to start it."""
    if answers(host, port):
        return None
    command, program = START[kind]
    command = command.format(port=port)
    if host in LOCAL and shutil.which(program):
        print(f"{variable}: nothing answers on {host}:{port}; starting {kind}", flush=True)
        subprocess.run(command, shell=True, check=False)  # noqa: S602 (fixed command)
        for _ in range(40):
            if answers(host, port):
                return None
            time.sleep(0.25)
    return (
        f"{variable} names {kind} on {host}:{port}, which does not answer. Start it "
        f"(on a Debian machine: {command}) or unset {variable} to use "
        + ("SQLite." if kind == "postgres" else "the local-memory cache.")
    )


def main() -> int:
    problems = []
    for variable in ("DATABASE_URL", "REDIS_URL", "TEST_REDIS_URL"):
        url = os.environ.get(variable, "").strip()
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme.startswith("postgres"):
            kind, default_port = "postgres", 5432
        elif parts.scheme in {"redis", "rediss"}:
            kind, default_port = "redis", 6379
        else:
            continue
        problem = ensure(variable, kind, parts.hostname or "127.0.0.1", parts.port or default_port)
        if problem:
            problems.append(problem)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
