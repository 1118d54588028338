"""MediaNest as separate processes: the Plex emulator, `manage.py` commands, gunicorn servers,
a Redis of one's own (to kill or freeze) and a PostgreSQL database of one's own. For the
scale-out test and the benchmarks, which must measure or prove what real processes do (shared
Redis, no in-process shortcuts).
Failures raise RuntimeError with the process's own output."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(
    env: dict[str, str],
    *,
    owner_token: str,
    friend_token: str,
    movies: int,
    shows: int = 12,
    friends: int = 0,
) -> tuple[subprocess.Popen[str], str]:
    """`python -m plex_emulator` on a free port; returns the process and its URL. `friends`
    more shared users have the tokens `<friend_token>-1` ... `-N` (accounts friend-1 ...)."""
    return _start_module(
        env,
        "plex_emulator",
        [
            *("--host", "127.0.0.1", "--port", "0"),
            *("--owner-token", owner_token, "--friend-token", friend_token),
            *("--movies", str(movies), "--shows", str(shows)),
            *(("--friends", str(friends)) if friends else ()),
        ],
        banner="Plex emulator at ",
    )


def start_hostile(env: dict[str, str], upstream: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m plex_emulator.hostile` in front of `upstream` on a free port; the process
    and its URL."""
    return _start_module(
        env,
        "plex_emulator.hostile",
        ["--upstream", upstream, "--port", "0"],
        banner="Hostile Plex at ",
    )


def _start_module(
    env: dict[str, str], module: str, args: list[str], *, banner: str
) -> tuple[subprocess.Popen[str], str]:
    """`python -m module args`, once it printed `banner` and its URL on its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    first = proc.stdout.readline().strip() if proc.stdout else ""
    if not first.startswith(banner):
        proc.kill()
        raise RuntimeError(f"{module} did not start: {first!r}")
    return proc, first.removeprefix(banner)


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run a management command; its standard output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_site(env: dict[str, str], *, emulator_url: str, username: str, plex_token: str) -> str:
    """Migrate, collect the static files unless DEBUG is on (with it off, pages name their CSS
    from collectstatic's manifest, as in production), create a user with that Plex token,
    point the site at the emulator; returns the user's API token (the last line `plex_user`
    prints)."""
    manage(env, "migrate", "--noinput")
    if env.get("DEBUG", "0") != "1":
        manage(env, "collectstatic", "--noinput")
    last = manage(env, "plex_user", username, "--plex-token", plex_token).strip().splitlines()[-1]
    if not last.startswith("API token: "):
        raise RuntimeError(f"plex_user printed no API token: {last!r}")
    manage(env, "plex_configure", "--url", emulator_url)
    return last.removeprefix("API token: ").strip()


def start_gunicorn(
    env: dict[str, str],
    *,
    workers: int,
    log: Path,
    timeout: float = 60,
    port: int | None = None,
    threads: int = 1,
) -> tuple[subprocess.Popen[bytes], str]:
    """gunicorn serving MediaNest on `port` (default: a free one), once /healthz answers;
    process and URL. Production's gunicorn.conf.py (timeouts, preloading), with the workers
    asked for: with `threads` > 1 the gthread worker (as production runs it), else sync; and
    WEB_THREADS tells the app how many threads it has."""
    port = port or free_port()
    # No access log: the log is the app's own, as the tests read it.
    env = {**env, "WEB_THREADS": str(threads), "GUNICORN_ACCESS_LOG": ""}
    worker = ["--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads)]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "medianest.wsgi:application",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *worker,
            # gunicorn 27 puts a control socket in ~/.gunicorn by default: one path for every
            # instance, so two at once (a test beside a benchmark) would take each other's.
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_health(proc, url, log, timeout)
    except BaseException:  # a timeout, Ctrl-C: never leave the server running
        proc.kill()
        proc.wait(timeout=5)
        raise
    return proc, url


def _wait_for_health(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or too busy to answer in 2 s
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate, then kill what does not stop within 10 s."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class RedisServer:
    """A redis-server of one's own on a free port (nothing kept on disk), to kill or freeze
    (SIGSTOP: it keeps its connections and answers nothing, as a hung Redis does)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server") or "/usr/sbin/redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.RedisError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        client.close()

    def kill(self) -> None:
        self.resume()
        self.process.kill()
        self.process.wait(timeout=5)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()


class PostgresDatabase:
    """An empty database of one's own on a PostgreSQL server (`server_url` names a database to
    connect to for the CREATE, e.g. postgres://postgres@127.0.0.1:5432/postgres); `drop()`
    drops it, connections and all. `available()` says whether the server answers at all."""

    def __init__(self, server_url: str, prefix: str = "medianest_bench") -> None:
        self.server_url = server_url
        self.name = f"{prefix}_{os.getpid()}_{int(time.time())}"
        self.url = urlunsplit(urlsplit(server_url)._replace(path=f"/{self.name}"))
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    @staticmethod
    def available(server_url: str) -> bool:
        try:
            psycopg.connect(server_url, connect_timeout=2, autocommit=True).close()
        except psycopg.Error:
            return False
        return True

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection to the server's own database (not this one, so that what
        it runs is never counted in this database's statistics)."""
        return psycopg.connect(self.server_url, connect_timeout=5, autocommit=True)

    def drop(self) -> None:
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
