"""Reading a server's published connections from plex.tv, and ranking them (plex/discovery.py).
The integration tests, against the emulator's dead, impostor and live connections, are in
test_connection_healing.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from plex.client.plextv import Connection, PlexTvClient
from plex.discovery import describe, rank
from plex.models import ServiceConfig

DATA = Path(__file__).parent / "data"


def _resources(rsps: responses.RequestsMock) -> list:
    body = json.loads((DATA / "plextv_resources_connections.json").read_text())
    rsps.get("https://plex.tv/api/v2/resources", json=body)
    return PlexTvClient("https://plex.tv", client_identifier="test").resources("account-token")


def test_a_real_resources_answer_gives_each_server_its_connections(rsps) -> None:
    owned, shared = _resources(rsps)

    assert owned.owned
    assert owned.is_server
    assert owned.presence
    assert owned.product_version == "1.50.7.9541-913b34e21"
    assert [(c.local, c.relay, c.plex_direct) for c in owned.connections] == [
        (True, False, True),
        (False, False, False),
        (False, False, True),
        (False, True, True),
    ]
    assert owned.connections[1].uri == "https://www.streammaster.com:45678"
    assert not shared.owned
    assert shared.connections


def test_the_best_connection_is_local_then_remote_and_the_relay_last(
    rsps,
) -> None:
    owned, _ = _resources(rsps)
    ranked = sorted(owned.connections, key=rank)
    assert [describe(c) for c in ranked] == [
        "local, plex.direct HTTPS",  # a LAN address beats any remote one
        "remote",
        "remote, plex.direct HTTPS",
        "relay",
    ]
    plain_local = Connection(uri="http://192.168.1.10:32400", local=True, relay=False)
    assert sorted([*ranked, plain_local], key=rank)[0] == plain_local


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://10.0.0.1/",
        "http://",
        "",
        None,
        7,
        "http://user:secret@10.0.0.5:32400",
        "http://10.0.0.5:32400/library/sections",
        "http://10.0.0.5:32400/?X-Plex-Token=abc",
        "http://10.0.0.5:notaport",
        "http://10.0.0.5:32400#x",
        "http://" + "a" * 400 + ".example:32400",
    ],
)
def test_a_published_connection_that_is_not_an_http_url_is_left_out(uri: object) -> None:
    assert Connection.from_dict({"uri": uri, "local": True}) is None


def test_flags_are_read_from_json_and_xml_spellings() -> None:
    connection = Connection.from_dict({"uri": "http://10.0.0.5:32400/", "local": "1", "relay": "0"})
    assert connection == Connection(uri="http://10.0.0.5:32400", local=True, relay=False)


def test_a_plex_direct_address_always_has_its_certificate_checked() -> None:
    direct = ServiceConfig(
        url="https://10-0-0-5.0123abcd.plex.direct:32400", verify_tls=False, timeout=3
    )
    by_ip = ServiceConfig(url="https://10.0.0.5:32400", verify_tls=False, timeout=3)
    assert direct.address.verify_tls is True
    assert by_ip.address.verify_tls is False


def test_a_hostile_list_of_connections_is_read_no_further_than_a_real_server_lists(
    rsps,
) -> None:
    many = [{"uri": f"http://10.0.{n // 250}.{n % 250}:32400", "local": True} for n in range(5000)]
    rsps.get(
        "https://plex.tv/api/v2/resources",
        json=[{"name": "x", "clientIdentifier": "m", "provides": "server", "connections": many}],
    )
    (resource,) = PlexTvClient("https://plex.tv", client_identifier="t").resources("token")
    assert len(resource.connections) == 16


@pytest.mark.django_db
def test_a_server_plex_tv_has_not_heard_from_is_listed_as_maybe_off(rsps, settings) -> None:
    from plex.discovery import owned_servers

    settings.PLEX_TV_URL = "https://plex.tv"
    server = {"name": "Attic", "clientIdentifier": "m1", "provides": "server", "owned": True}
    rsps.get(
        "https://plex.tv/api/v2/resources",
        json=[{**server, "presence": False}, {**server, "clientIdentifier": "m2", "presence": 1}],
    )
    attic, other = owned_servers("account-token")
    assert (attic.online, other.online) == (False, True)
    assert attic.checks == []
    assert attic.best is None
