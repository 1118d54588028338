"""Make sure the services the test run is configured for are up, then run the tests on a Redis
database and a PostgreSQL test database of this run's own.

    python .ci/services.py                      check (and start) the services only
    python .ci/services.py -- python -m pytest  ...then run the command, isolated

Reads DATABASE_URL, REDIS_URL and TEST_REDIS_URL. For a PostgreSQL or Redis on this machine that
does not answer, it tries the usual start command once; if the service still does not answer,
it exits non-zero with a message that says how to start it. SQLite and unset URLs need nothing.

Two test runs at once (two checkouts, CI beside a developer) must not empty each other's Redis
or drop each other's test database. Before running the command, this takes a lease on one of
Redis's databases 2..13 (a key in database 0, held while the command runs, taken over if its
holder's process is gone) and points TEST_REDIS_URL, REDIS_URL and the PostgreSQL database
name (so pytest-django's test database) at that number. Standard library only: it runs before
anything else is known to work.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

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


def check_services() -> int:
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


# -- one Redis database and one test database per run ----------------------------------------

LEASE_DATABASES = range(2, 14)  # 0: the leases; 1: CI's app cache; 14: benchmarks; 15: bare pytest
LEASE_SECONDS = 3 * 3600  # longer than any run; a crashed holder is found dead sooner


class Redis:
    """Just enough of the Redis protocol for the leases (no redis-py before the venv works)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.file = self.sock.makefile("rb")

    def command(self, *args: str) -> bytes | int | None:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        line = self.file.readline()
        kind, rest = line[:1], line[1:].strip()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            return None if length < 0 else self.file.read(length + 2)[:-2]
        return rest  # +OK

    def close(self) -> None:
        self.sock.close()


def _alive(holder: bytes | int | None) -> bool:
    """Whether the process named by a lease (host:pid) is still running, as far as this
    machine can tell; a holder on another host is taken to be alive."""
    if not isinstance(holder, bytes):
        return False
    host, _, pid = holder.decode().rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def take_lease(redis: Redis) -> int:
    me = f"{socket.gethostname()}:{os.getpid()}"
    for number in LEASE_DATABASES:
        key = f"medianest:test-run:{number}"
        if redis.command("SET", key, me, "NX", "EX", str(LEASE_SECONDS)) == b"OK":
            return number
        if not _alive(redis.command("GET", key)):
            redis.command("SET", key, me, "EX", str(LEASE_SECONDS))
            return number
    raise RuntimeError(
        f"every Redis database {LEASE_DATABASES.start}..{LEASE_DATABASES.stop - 1} is leased by "
        "another test run; wait for one to finish"
    )


def _with_database(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


def isolated_env(number: int) -> dict[str, str]:
    env = dict(os.environ)
    env["TEST_REDIS_URL"] = _with_database(env["TEST_REDIS_URL"], number)
    if env.get("REDIS_URL", "").startswith(("redis://", "rediss://")):
        env["REDIS_URL"] = _with_database(env["REDIS_URL"], number)
    database = urlsplit(env.get("DATABASE_URL", ""))
    if database.scheme.startswith("postgres"):
        name = database.path.strip("/") or "medianest"
        # pytest-django creates test_<name>: one of this run's own.
        env["DATABASE_URL"] = urlunsplit(database._replace(path=f"/{name}_run{number}"))
    return env


def run_isolated(command: list[str]) -> int:
    lease_url = urlsplit(os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    redis = Redis(lease_url.hostname or "127.0.0.1", lease_url.port or 6379)
    try:
        number = take_lease(redis)
        key = f"medianest:test-run:{number}"
        print(f"This run uses Redis database {number} and its own test database.", flush=True)
        try:
            return subprocess.call(command, env=isolated_env(number))
        finally:
            redis.command("DEL", key)
    finally:
        redis.close()


def main(argv: list[str]) -> int:
    status = check_services()
    if status or "--" not in argv:
        return status
    command = argv[argv.index("--") + 1 :]
    return run_isolated(command) if command else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
