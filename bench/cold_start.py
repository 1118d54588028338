"""How long a gunicorn worker takes to answer its first request: MediaNest against a hello-world
WSGI app (issue 12's aim: at most 2x the hello-world app), two ways:

- start: from spawning gunicorn to the first 200 on GET /healthz/live (the master imports the
  app, preload_app, then forks the worker);
- worker replaced: in that running gunicorn, from killing the worker (SIGKILL, as the kernel's
  OOM killer or a crash would) to the next 200, which the master's new worker answers: what a
  recycled or dead worker costs while the site is up.

    .venv/bin/python bench/cold_start.py [--runs 9] [--config gunicorn.conf.py]

Both run the same gunicorn the same way (`python -m gunicorn`, one worker, the same config file
with WEB_CONCURRENCY=1, so the worker class, threads and preload are production's), each on a
free port of its own, the runs interleaved (hello, MediaNest, MediaNest, hello, ...) so both
see the same machine; the median of each and their ratio are printed. The hello-world app is a
module in a temporary folder that answers 200 to everything. MediaNest runs as in production
(DEBUG off, collected static files, SQLite, no Redis): /healthz/live asks neither, and a cold
start is the Python imports and Django's set-up, not the database's.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.stack import free_port, manage, stop  # noqa: E402

HELLO = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""
POLL = 0.002  # seconds between tries: the resolution of the figures
REPLACEMENTS = 3  # workers killed per started gunicorn


def first_answer(
    command: list[str], *, cwd: Path, env: dict[str, str], port: int, replaced: list[float]
) -> float:
    """Seconds from spawning `command` to its first 200 on /healthz/live; then the seconds
    from killing its worker to the next 200, appended to `replaced` (REPLACEMENTS times)."""
    url = f"http://127.0.0.1:{port}/healthz/live"
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        with requests.Session() as session:
            while time.perf_counter() - started < 60:
                if proc.poll() is not None:
                    error = proc.stderr.read().decode() if proc.stderr else ""
                    raise SystemExit(
                        f"{command[3]} exited with {proc.returncode}:\n{error[-3000:]}"
                    )
                try:
                    if session.get(url, timeout=5).status_code == 200:
                        took = time.perf_counter() - started
                        for _ in range(REPLACEMENTS):
                            replaced.append(replace_worker(proc.pid, url))
                        return took
                except requests.ConnectionError:
                    pass
                time.sleep(POLL)
        raise SystemExit(f"{command[3]} did not answer within 60 s")
    finally:
        stop([proc])


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def replace_worker(master: int, url: str) -> float:
    """Kill the master's worker; seconds until a request is answered 200 again (by a new
    worker: the listening socket stays the master's, so the request waits in its backlog)."""
    (worker,) = workers_of(master)
    started = time.perf_counter()
    os.kill(worker, signal.SIGKILL)
    while time.perf_counter() - started < 60:
        try:
            # A new session each time: a kept-alive connection died with the old worker.
            if requests.get(url, timeout=5).status_code == 200 and workers_of(master) != [worker]:
                return time.perf_counter() - started
        except requests.ConnectionError:
            pass
        time.sleep(POLL)
    raise SystemExit("no worker answered within 60 s of the last one's death")


def gunicorn(app: str, port: int, config: str) -> list[str]:
    return [
        *(sys.executable, "-m", "gunicorn", app),
        *("--config", config, "--bind", f"127.0.0.1:{port}"),
        # gunicorn 27's control socket is one path for every instance: two at once would clash.
        "--no-control-socket",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each (default 9)")
    parser.add_argument(
        "--config",
        default=str(ROOT / "gunicorn.conf.py"),
        help="gunicorn config file for both (default: the repository's gunicorn.conf.py)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")

    with tempfile.TemporaryDirectory(prefix="medianest-cold-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "hello_app.py").write_text(HELLO)
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "cold-start-secret-key-7e1b9c0d4f2a6e8b-not-for-production",
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "STATIC_ROOT": str(tmp / "static"),
            "WEB_CONCURRENCY": "1",
            "PYTHONDONTWRITEBYTECODE": "",
        }
        env.pop("REDIS_URL", None)
        manage(env, "collectstatic", "--noinput")
        hello_env = {**env, "PYTHONPATH": str(tmp)}

        hello: list[float] = []
        medianest: list[float] = []
        replaced: dict[str, list[float]] = {"hello": [], "medianest": []}
        for run in range(args.runs):
            # Alternate which goes first, so neither always follows the other.
            order = [("hello", hello), ("medianest", medianest)]
            for name, into in order if run % 2 == 0 else reversed(order):
                port = free_port()
                if name == "hello":
                    command = gunicorn("hello_app:application", port, args.config)
                    into.append(
                        first_answer(
                            command, cwd=tmp, env=hello_env, port=port, replaced=replaced[name]
                        )
                    )
                else:
                    command = gunicorn("medianest.wsgi:application", port, args.config)
                    into.append(
                        first_answer(command, cwd=ROOT, env=env, port=port, replaced=replaced[name])
                    )

    hello_ms, medianest_ms = statistics.median(hello) * 1000, statistics.median(medianest) * 1000
    print(
        f"Cold start: spawn to the first 200 on /healthz/live, {args.runs} runs each, "
        f"interleaved; gunicorn -c {Path(args.config).name}, WEB_CONCURRENCY=1; "
        f"{os.cpu_count()} CPUs"
    )
    figures = (("hello-world", hello, hello_ms), ("MediaNest", medianest, medianest_ms))
    for name, runs, median in figures:
        spread = f"{min(runs) * 1000:.0f}-{max(runs) * 1000:.0f}"
        print(f"  {name:<12} median {median:6.0f} ms  (runs {spread} ms)")
    ratio = medianest_ms / hello_ms
    verdict = "met" if ratio <= 2 else "MISSED"
    print(f"  ratio {ratio:.2f}x (aim: <= 2x, {verdict})")
    print(
        f"Worker replaced: SIGKILL to the next 200, {REPLACEMENTS} per started gunicorn "
        f"({REPLACEMENTS * args.runs} each)"
    )
    medians = {name: statistics.median(runs) * 1000 for name, runs in replaced.items()}
    for name, label in (("hello", "hello-world"), ("medianest", "MediaNest")):
        runs = replaced[name]
        spread = f"{min(runs) * 1000:.0f}-{max(runs) * 1000:.0f}"
        print(f"  {label:<12} median {medians[name]:6.0f} ms  (runs {spread} ms)")
    ratio = medians["medianest"] / medians["hello"]
    verdict = "met" if ratio <= 2 else "MISSED"
    print(f"  ratio {ratio:.2f}x (aim: <= 2x, {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
