"""How long a gunicorn worker takes to answer its first request: MediaNest against a hello-world
WSGI app, from spawning gunicorn to the first 200 on GET /healthz/live (issue 12's aim: at most
2x the hello-world app).

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.stack import free_port, manage  # noqa: E402

HELLO = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""
POLL = 0.002  # seconds between tries: the resolution of the figures


def first_answer(command: list[str], *, cwd: Path, env: dict[str, str], port: int) -> float:
    """Seconds from spawning `command` to its first 200 on /healthz/live."""
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
                        return time.perf_counter() - started
                except requests.ConnectionError:
                    pass
                time.sleep(POLL)
        raise SystemExit(f"{command[3]} did not answer within 60 s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        for run in range(args.runs):
            # Alternate which goes first, so neither always follows the other.
            order = [("hello", hello), ("medianest", medianest)]
            for name, into in order if run % 2 == 0 else reversed(order):
                port = free_port()
                if name == "hello":
                    command = gunicorn("hello_app:application", port, args.config)
                    into.append(first_answer(command, cwd=tmp, env=hello_env, port=port))
                else:
                    command = gunicorn("medianest.wsgi:application", port, args.config)
                    into.append(first_answer(command, cwd=ROOT, env=env, port=port))

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
