from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from accounts.models import User
from plex.client import PlexUnavailable
from plex.models import ServiceConfig
from plex.services import check_connection


def configure(*args: str, **kwargs: object) -> str:
    out = StringIO()
    call_command("plex_configure", *args, stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_configure_prints_the_servers_name_and_version(emulator) -> None:
    User.objects.create(username="boss", is_staff=True, plex_token=emulator.owner_token)

    output = configure(url=emulator.url)

    assert f"Connected to {emulator.friendly_name}, Plex Media Server {emulator.version}" in output
    config = ServiceConfig.objects.active()
    assert config.url == emulator.url
    assert config.machine_identifier == emulator.machine_identifier
    assert config.server_name == emulator.friendly_name
    assert config.last_error == ""
    assert config.checked_at is not None
    assert emulator.owner_token not in output


@pytest.mark.django_db
def test_configure_without_any_token_still_reads_the_version(emulator) -> None:
    output = configure(url=emulator.url)

    assert emulator.version in output
    assert ServiceConfig.objects.active().machine_identifier == emulator.machine_identifier


@pytest.mark.django_db
def test_configure_updates_the_one_server(emulator) -> None:
    ServiceConfig.objects.create(url="http://old.example:32400")

    configure(url=emulator.url, verify_tls=False, timeout=7.5)

    config = ServiceConfig.objects.get()
    assert (config.url, config.verify_tls, config.timeout) == (emulator.url, False, 7.5)


@pytest.mark.django_db
def test_configure_keeps_an_unreachable_server_and_reports_why(unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"

    with pytest.raises(CommandError, match="Saved, but the connection test failed"):
        configure(url=url, timeout=0.5)

    config = ServiceConfig.objects.get()
    assert config.url == url
    assert config.last_error
    assert config.checked_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["ftp://nas/plex", "not a url", "javascript:alert(1)"])
def test_configure_refuses_a_bad_url_and_saves_nothing(url: str) -> None:
    with pytest.raises(CommandError, match="Not saved: url"):
        configure(url=url)
    assert not ServiceConfig.objects.exists()


@pytest.mark.django_db
def test_configure_refuses_an_impossible_timeout(emulator) -> None:
    with pytest.raises(CommandError, match="timeout"):
        configure(url=emulator.url, timeout=0)


@pytest.mark.django_db
def test_only_one_server_is_enabled_at_a_time() -> None:
    ServiceConfig.objects.create(url="http://a:32400")
    ServiceConfig.objects.create(url="http://b:32400", enabled=False)
    with pytest.raises(IntegrityError):
        ServiceConfig.objects.create(url="http://c:32400")


@pytest.mark.django_db
def test_check_records_the_failure(unused_tcp_port: int) -> None:
    config = ServiceConfig.objects.create(url=f"http://127.0.0.1:{unused_tcp_port}", timeout=0.5)

    with pytest.raises(PlexUnavailable):
        check_connection(config, "any-token")

    config.refresh_from_db()
    assert config.last_error
    assert "any-token" not in config.last_error


@pytest.mark.django_db
def test_admin_test_connection_reports_name_and_version(client, emulator) -> None:
    boss = User.objects.create_superuser("boss", password="pw", plex_token=emulator.owner_token)
    config = ServiceConfig.objects.create(url=emulator.url)
    client.force_login(boss)

    response = client.post(
        "/admin/plex/serviceconfig/",
        {"action": "test_connection", "_selected_action": [config.pk]},
        follow=True,
    )

    text = response.content.decode()
    assert f"connected to {emulator.friendly_name}, version {emulator.version}" in text
    assert emulator.owner_token not in text


@pytest.mark.django_db
def test_admin_test_connection_reports_the_reason_it_failed(client, unused_tcp_port: int) -> None:
    boss = User.objects.create_superuser("boss", password="pw")
    config = ServiceConfig.objects.create(url=f"http://127.0.0.1:{unused_tcp_port}", timeout=0.5)
    client.force_login(boss)

    response = client.post(
        "/admin/plex/serviceconfig/",
        {"action": "test_connection", "_selected_action": [config.pk]},
        follow=True,
    )

    text = response.content.decode()
    config.refresh_from_db()
    assert config.last_error
    assert f'<li class="error">Plex server {config.url}: {config.last_error}</li>' in text


@pytest.mark.django_db
def test_admin_shows_when_the_circuit_is_open(client, emulator) -> None:
    from plex.connections import breaker_for

    boss = User.objects.create_superuser("boss", password="pw")
    config = ServiceConfig.objects.create(url=emulator.url)
    client.force_login(boss)
    assert "closed: Plex calls go through" in client.get("/admin/plex/serviceconfig/").text

    breaker_for(config.address).open()

    page = client.get(f"/admin/plex/serviceconfig/{config.pk}/change/").text
    assert "open: Plex calls paused for" in page
