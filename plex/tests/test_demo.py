"""`make run`: the demo command brings up the emulator and the app configured to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_serves_the_admin_on_the_emulator(tmp_path: Path, unused_tcp_port: int) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    demo = subprocess.Popen(
        [*manage, "demo", "--port", str(unused_tcp_port), "--emulator-port", "0", "--movies", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Connected to" in line:
                break
        site_url = f"http://127.0.0.1:{unused_tcp_port}/"
        admin_url = f"{site_url}admin/"
        announced = f"MediaNest: {site_url}"
        assert any(announced in line for line in lines) or _wait_for_line(demo, announced, lines)
        login = _get_when_up(f"{admin_url}login/")
        assert login.status_code == 200
        assert "Log in" in login.text

        session = requests.Session()
        session.get(f"{admin_url}login/", timeout=5)
        response = session.post(
            f"{admin_url}login/",
            data={
                "username": "admin",
                "password": "admin",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "next": "/admin/",
            },
            headers={"Referer": f"{admin_url}login/"},
            timeout=5,
        )
        assert "Plex servers" in response.text
        servers = session.get(f"{admin_url}plex/serviceconfig/", timeout=5).text
        assert "MediaNest Emulator" in servers

        _sign_in_with_plex_as_the_friend(site_url)
        # Live updates: the listener the demo started shares a Redis with the app.
        deadline = time.monotonic() + 30
        while requests.get(f"{site_url}healthz", timeout=5).json()["events"] != "live":
            assert time.monotonic() < deadline, "the demo's listener never went live"
            time.sleep(0.5)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            demo.kill()
    output = "".join(lines)
    assert "Connected to" in output, output


def _sign_in_with_plex_as_the_friend(site_url: str) -> None:
    """The demo's promise: "Sign in with Plex" leads through the emulator's Plex page back
    into the app, signed in, with no other setup."""
    browser = requests.Session()
    signin = browser.get(site_url, timeout=5)
    assert signin.url.startswith(f"{site_url}accounts/signin/")
    to_plex = browser.post(
        f"{site_url}accounts/signin/plex/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], "next": "/"},
        headers={"Referer": signin.url},
        allow_redirects=False,
        timeout=5,
    )
    plex_page, _, fragment = to_plex.headers["Location"].partition("#?")
    params = {name: values[0] for name, values in parse_qs(fragment).items()}
    assert "Frankie Friend" in requests.get(plex_page, timeout=5).text
    back = requests.post(
        plex_page.removesuffix("/auth") + "/auth/link",
        data={**params, "account": "friend"},
        allow_redirects=False,
        timeout=5,
    )
    home = browser.get(back.headers["Location"], timeout=5)
    assert home.url == site_url
    assert "Recently added" in home.text
    assert "Movies" in home.text


def _wait_for_line(proc: subprocess.Popen[str], text: str, lines: list[str]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return False
        lines.append(line)
        if text in line:
            return True
    return False


def _get_when_up(url: str) -> requests.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
