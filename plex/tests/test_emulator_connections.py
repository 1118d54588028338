"""The connections the emulator's plex.tv publishes for its server: a dead one, an impostor
and the live one (plex_emulator/connections.py), over real sockets.

A private emulator: these tests move the live connection, which the shared one must not see.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from plex_emulator import Emulator, control
from plex_emulator.plextv import PlexTV

TIMEOUT = 10
DATA = Path(__file__).resolve().parent / "data"
OWNER_TOKEN = "conn-owner-token-5e1d"
FRIEND_TOKEN = "conn-friend-token-9a4c"
READ_WAIT = 0.5  # seconds a test waits for a byte the dead port never sends


@pytest.fixture(scope="module")
def _private() -> Iterator[Emulator]:
    with Emulator(owner_token=OWNER_TOKEN, friend_token=FRIEND_TOKEN, movies=30, shows=3) as emu:
        yield emu


@pytest.fixture
def emu(_private: Emulator) -> Iterator[Emulator]:
    _private.reset_connections()
    _private.reset_stats()
    yield _private
    _private.reset_connections()


def _resources(emu: Emulator, account: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{emu.url}/api/v2/resources",
        params={"includeHttps": "1", "includeRelay": "1"},
        headers={
            "Accept": "application/json",
            "X-Plex-Client-Identifier": "connections-test",
            "X-Plex-Token": emu.accounts[account].auth_token,
        },
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _server(emu: Emulator, account: str) -> dict[str, Any]:
    servers = [r for r in _resources(emu, account) if r["provides"] == "server"]
    assert len(servers) == 1
    return servers[0]


def _get(url: str, path: str, token: str | None = None) -> requests.Response:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["X-Plex-Token"] = token
    return requests.get(f"{url}{path}", headers=headers, timeout=TIMEOUT)


def _identity(url: str) -> str:
    answer = _get(url, "/identity")
    assert answer.status_code == 200
    return str(answer.json()["MediaContainer"]["machineIdentifier"])


def _titles(url: str, token: str) -> list[str]:
    answer = _get(url, "/library/sections/1/all", token)
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()["MediaContainer"]["Metadata"]]


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """The dead port counts a connection when its thread accepts it, a moment after the
    client's connect returned (the kernel completes the handshake)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


# -- what plex.tv lists ---------------------------------------------------------------------


@pytest.mark.parametrize("account", ["owner", "friend"])
def test_resources_list_dead_impostor_and_live_with_the_real_fields(
    emu: Emulator, account: str
) -> None:
    real = json.loads((DATA / "plextv_resources_connections.json").read_text())
    real_keys = set(real[0]["connections"][0])
    server = _server(emu, account)
    assert server["clientIdentifier"] == emu.machine_identifier
    connections = server["connections"]
    assert connections == emu.connections()
    assert [c["uri"] for c in connections] == [emu.dead_url, emu.impostor_url, emu.live_url]
    # plex.tv's order, local first: not the order a client should try them in.
    assert [c["local"] for c in connections] == [True, True, False]
    for published in connections:
        assert set(published) == real_keys
        for key in real_keys:
            assert type(published[key]) is type(real[0]["connections"][0][key]), key
        assert published["protocol"] == "http"
        assert published["relay"] is False
        assert published["IPv6"] is False
        assert published["uri"] == f"http://{published['address']}:{published['port']}"
    # The main port (plex.tv, control endpoints) is not one of them.
    assert emu.url not in {c["uri"] for c in connections}
    assert len({c["port"] for c in connections}) == 3
    assert server["publicAddress"] == connections[2]["address"]


def test_the_stranger_still_has_only_their_own_server(emu: Emulator) -> None:
    server = _server(emu, "stranger")
    assert server["clientIdentifier"] != emu.machine_identifier
    assert server["connections"] == [
        {
            "protocol": "http",
            "address": "192.0.2.99",
            "port": 32400,
            "uri": "http://192.0.2.99:32400",
            "local": False,
            "relay": False,
            "IPv6": False,
        }
    ]


def test_nothing_published_lists_the_address_asked() -> None:
    plex_tv = PlexTV(
        owner_token="o-token",
        friend_token="f-token",
        stranger_token=None,
        machine_identifier="abc",
        friendly_name="Bare",
        version="1.0",
    )
    server = plex_tv.resources(plex_tv.accounts["owner"], ("10.0.0.5", 32400))[0]
    assert [c["uri"] for c in server["connections"]] == ["http://10.0.0.5:32400"]
    assert server["connections"][0]["local"] is True


# -- each connection ------------------------------------------------------------------------


def test_dead_connection_accepts_and_never_answers(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", _port(emu.dead_url)), timeout=2) as sock:
        sock.sendall(b"GET /identity HTTP/1.1\r\nHost: plex\r\n\r\n")
        sock.settimeout(READ_WAIT)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{emu.dead_url}/identity", timeout=(2, READ_WAIT))
    assert _eventually(lambda: emu.dead_stats()["accepted"] == 2), emu.dead_stats()


def test_dead_connection_lets_go_of_clients_that_hang_up(emu: Emulator) -> None:
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", _port(emu.dead_url)), timeout=2):
            pass
    # The listener sees each hang up and closes its end: nothing piles up.
    assert _eventually(lambda: emu.dead_stats() == {"accepted": 5, "open": 0}), emu.dead_stats()


def test_impostor_is_another_server_that_takes_the_same_tokens(emu: Emulator) -> None:
    impostor = emu.impostor_url
    assert _identity(impostor) == emu.impostor_identifier
    assert emu.impostor_identifier != emu.machine_identifier
    root = _get(impostor, "/", OWNER_TOKEN)
    assert root.status_code == 200
    assert root.json()["MediaContainer"]["machineIdentifier"] == emu.impostor_identifier
    assert root.json()["MediaContainer"]["friendlyName"] != emu.friendly_name
    # The hostile part: both tokens open it, and its library is another one.
    theirs = _titles(impostor, OWNER_TOKEN)
    assert _get(impostor, "/library/sections", FRIEND_TOKEN).status_code == 200
    assert theirs != _titles(emu.url, OWNER_TOKEN)
    assert _get(impostor, "/library/sections", "not-a-token").status_code == 401
    # Its own statistics: what was asked of it there, nothing of it in the server's.
    by_path = emu.impostor_stats()["by_path"]
    assert by_path == {
        "/identity": 1,
        "/": 1,
        "/library/sections/1/all": 1,
        "/library/sections": 2,
    }
    assert emu.impostor_stats()["with_token"] == 4  # all but /identity
    assert "/identity" not in emu.stats()["by_path"]


def test_reset_stats_zeroes_the_impostors_and_the_dead_ports_counters(emu: Emulator) -> None:
    _get(emu.impostor_url, "/library/sections", OWNER_TOKEN)
    with socket.create_connection(("127.0.0.1", _port(emu.dead_url)), timeout=2):
        pass
    assert emu.impostor_stats()["requests"] == 1
    assert _eventually(lambda: emu.dead_stats() == {"accepted": 1, "open": 0})

    emu.reset_stats()

    stats = emu.impostor_stats()
    assert (stats["requests"], stats["by_path"], stats["with_token"]) == (0, {}, 0)
    assert emu.dead_stats()["accepted"] == 0


def test_live_connection_is_this_server_on_another_port(emu: Emulator) -> None:
    live = emu.live_url
    assert live != emu.url
    assert _identity(live) == emu.machine_identifier
    assert _titles(live, OWNER_TOKEN) == _titles(emu.url, OWNER_TOKEN)
    assert _titles(live, FRIEND_TOKEN) == _titles(emu.url, FRIEND_TOKEN)
    # The same watch state: played through the live port, seen on the main one.
    movie = str(emu.library.sections["1"].items[0]["ratingKey"])
    try:
        scrobbled = requests.get(
            f"{live}/:/scrobble",
            params={"key": movie, "identifier": "com.plexapp.plugins.library"},
            headers={"X-Plex-Token": FRIEND_TOKEN},
            timeout=TIMEOUT,
        )
        assert scrobbled.status_code == 200
        assert emu.watch_state("friend", movie).get("viewCount") == 1
    finally:
        emu.reset_watch()
    # Its requests are the server's; the impostor saw none.
    assert emu.stats()["by_path"]["/identity"] == 1
    assert emu.impostor_stats()["requests"] == 0


def test_live_connection_is_not_plex_tv_nor_the_control_port(emu: Emulator) -> None:
    token = emu.accounts["owner"].auth_token
    headers = {"X-Plex-Token": token, "Accept": "application/json"}
    answer = requests.get(f"{emu.live_url}/api/v2/user", headers=headers, timeout=TIMEOUT)
    assert answer.status_code in {401, 404}
    control_answer = requests.get(f"{emu.live_url}/__emulator__/stats", timeout=TIMEOUT)
    assert control_answer.status_code in {401, 404}
    assert "requests" not in control_answer.text


# -- moving the live connection -------------------------------------------------------------


def test_move_connection_closes_the_old_port_and_publishes_a_new_one(emu: Emulator) -> None:
    old = emu.live_url
    with requests.Session() as session:  # a keep-alive connection to the old port
        first = session.get(f"{old}/identity", timeout=TIMEOUT)
        assert first.status_code == 200
        new = emu.move_connection()
        assert new != old
        assert emu.live_url == new
        assert _refuses(_port(old))
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"{old}/identity", timeout=TIMEOUT)
    # plex.tv (still on the main port) lists the new one where the old one was.
    for account in ("owner", "friend"):
        uris = [c["uri"] for c in _server(emu, account)["connections"]]
        assert uris == [emu.dead_url, emu.impostor_url, new]
    assert _identity(new) == emu.machine_identifier
    assert _titles(new, FRIEND_TOKEN) == _titles(emu.url, FRIEND_TOKEN)
    assert _identity(emu.url) == emu.machine_identifier  # the main port never moves


def test_reset_connections_brings_the_first_port_back(emu: Emulator) -> None:
    first = emu.live_url
    emu.move_connection()
    emu.move_connection()
    assert emu.reset_connections() == first
    assert emu.live_url == first
    assert _identity(first) == emu.machine_identifier


def test_control_endpoints_move_and_reset(emu: Emulator) -> None:
    described = requests.get(f"{emu.url}/__emulator__/connections", timeout=TIMEOUT)
    assert described.status_code == 200
    body = described.json()
    assert body["connections"] == emu.connections()
    assert body["live"] == emu.live_url
    assert body["dead"]["uri"] == emu.dead_url
    assert body["impostor"]["uri"] == emu.impostor_url
    assert body["impostor"]["machineIdentifier"] == emu.impostor_identifier
    assert body["impostor"]["stats"]["requests"] == 0

    old = emu.live_url
    moved = requests.post(f"{emu.url}/__emulator__/connections/move", timeout=TIMEOUT)
    assert moved.status_code == 200
    answer = moved.json()
    assert answer["previous"] == old
    assert answer["uri"] == emu.live_url != old
    assert answer["connections"][2]["uri"] == answer["uri"]
    assert _refuses(_port(old))
    assert _identity(answer["uri"]) == emu.machine_identifier

    # The helper other processes use: GET for the description, POST for the actions.
    assert control(emu.url, "connections")["live"] == answer["uri"]
    assert control(emu.url, "connections/reset")["uri"] == old
    wrong = requests.get(f"{emu.url}/__emulator__/connections/move", timeout=TIMEOUT)
    assert wrong.status_code == 404


# -- the lifecycle --------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_stop_closes_every_port_thread_and_socket() -> None:
    gc.collect()
    fds_before = _open_fds()
    threads_before = set(threading.enumerate())
    emu = Emulator(owner_token=OWNER_TOKEN, friend_token=FRIEND_TOKEN, movies=5, shows=1)
    emu.start()
    ports = [emu.port, *(c["port"] for c in emu.connections())]
    assert len(set(ports)) == 4
    emu.move_connection()
    ports.append(_port(emu.live_url))
    # Connections open at stop: one held by the dead port, a keep-alive one to the live port.
    held = socket.create_connection(("127.0.0.1", _port(emu.dead_url)), timeout=2)
    live = requests.Session()
    try:
        assert live.get(f"{emu.live_url}/identity", timeout=TIMEOUT).status_code == 200
        emu.stop()
        held.settimeout(2)
        assert held.recv(1) == b""  # closed by the dead port, not left hanging
    finally:
        held.close()
        live.close()
    for port in ports:
        assert _refuses(port), port
    # Handler threads end as their connections do; give them a moment.
    for _ in range(100):
        if not set(threading.enumerate()) - threads_before:
            break
        time.sleep(0.02)
    assert not set(threading.enumerate()) - threads_before
    gc.collect()
    assert _open_fds() <= fds_before
    assert emu.connections() == []
