"""gunicorn's settings for MediaNest (docker/entrypoint.sh runs `gunicorn -c gunicorn.conf.py`).

Each value is read from the environment where an operator may want another, with the default
that the figures in README.md ("Running in production: gunicorn") chose. gunicorn also reads
this file on its own when started from this folder; flags on the command line still win.
"""

from __future__ import annotations

import os


def _whole(name: str, default: int) -> int:
    """A positive whole number from the environment; a bad value stops start-up naming it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1; got {raw!r}")
    return int(raw)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Threads in few processes: a request mostly waits (on Plex, Redis, the database), and a
# waiting thread costs little, where each process costs its own memory. gthread also keeps a
# slow Plex from taking a whole worker: MediaNest lets fewer threads than this wait on Plex at
# once (PLEX_CONCURRENCY), so the others serve cached pages.
worker_class = "gthread"
workers = _whole("WEB_CONCURRENCY", 2)
threads = _whole("WEB_THREADS", 8)
# The app sizes what it keeps per process from the threads it has (PLEX_CONCURRENCY, the
# database pool): it reads WEB_THREADS, so say it when only the default above decided.
os.environ.setdefault("WEB_THREADS", str(threads))

# The app is imported once, in the master, before the workers are forked: a worker that
# replaces one that died or was recycled answers at once instead of after the imports, and the
# workers share the imported code's memory. Safe because importing MediaNest opens nothing (no
# database connection, no Redis connection, no thread): each worker opens its own on first use
# (medianest/tests/test_gunicorn_config.py checks it).
preload_app = True

# A worker that stops reporting for this long is killed and replaced. Requests themselves are
# bounded below it: a Plex call by its timeout and PLEX_RESPONSE_DEADLINE (8 s), Redis by 0.5 s.
timeout = _whole("GUNICORN_TIMEOUT", 30)
# On SIGTERM (docker stop), requests in flight get this long to finish. Docker kills the
# container 10 s after its SIGTERM unless told otherwise (stop_grace_period), so stay inside.
graceful_timeout = _whole("GUNICORN_GRACEFUL_TIMEOUT", 8)
# Idle keep-alive connections wait this long for their next request: a page's images and the
# API calls of a script reuse one connection. A proxy in front keeps its own for longer.
keepalive = _whole("GUNICORN_KEEPALIVE", 5)

# The workers' heartbeat files in memory: on Docker's overlay file system a write can stall
# long enough for the master to take a busy worker for a dead one.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (Linux tmpfs)
# One line per request on standard output, for `docker compose logs`; GUNICORN_ACCESS_LOG set
# empty: none (the tests' and benchmarks' servers, whose logs are the app's alone).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
