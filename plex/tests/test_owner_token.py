"""The server owner's token (ServiceConfig.owner_token), for live updates: kept encrypted, set
by plex_configure or the admin after the server accepted it, never shown or logged."""

from __future__ import annotations

import logging
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from accounts.models import User
from plex.models import ServiceConfig
from plex.services import freshness_for

WRONG_TOKEN = "not-a-token-of-this-server-5d1"


def configure(*args: str, **kwargs: object) -> str:
    out = StringIO()
    call_command("plex_configure", *args, stdout=out, **kwargs)
    return out.getvalue()


def raw_owner_token(config: ServiceConfig) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT owner_token FROM plex_serviceconfig WHERE id = %s", [config.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def admin_client(db, emulator) -> Client:
    boss = User.objects.create_superuser("boss", password="s3cret-pass")
    client = Client()
    client.force_login(boss)
    return client


def change_form(config: ServiceConfig, **extra: str) -> dict[str, str]:
    return {
        "url": config.url,
        "verify_tls": "on",
        "timeout": str(config.timeout),
        "enabled": "on",
        **extra,
    }


# -- at rest ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_token_is_encrypted_in_the_database(emulator) -> None:
    config = ServiceConfig.objects.create(url=emulator.url, owner_token=emulator.owner_token)

    raw = raw_owner_token(config)

    assert raw
    assert emulator.owner_token not in raw
    assert ServiceConfig.objects.get().owner_token == emulator.owner_token
    assert emulator.owner_token not in f"{config!r} {config}"


@pytest.mark.django_db
def test_no_owner_token_is_stored_as_null(emulator) -> None:
    config = ServiceConfig.objects.create(url=emulator.url)

    assert raw_owner_token(config) is None
    assert not config.has_owner_token


# -- plex_configure -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_configure_keeps_an_owner_token_the_server_accepts(
    emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    output = configure(url=emulator.url, owner_token=emulator.owner_token)

    config = ServiceConfig.objects.active()
    assert config.owner_token == emulator.owner_token
    assert f"Saved the owner token of {emulator.friendly_name}" in output
    assert emulator.owner_token not in output
    assert emulator.owner_token not in caplog.text
    assert all(emulator.owner_token not in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_configure_reads_the_owner_token_from_stdin_for_the_configured_server(emulator) -> None:
    configure(url=emulator.url)

    output = configure("--owner-token", "-", stdin=StringIO(f"{emulator.owner_token}\n"))

    assert ServiceConfig.objects.get().owner_token == emulator.owner_token
    assert emulator.owner_token not in output


@pytest.mark.django_db
def test_configure_refuses_an_owner_token_the_server_refuses(
    emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    configure(url=emulator.url, owner_token=emulator.owner_token)

    with pytest.raises(
        CommandError, match=r"Owner token not saved\. The Plex server refused"
    ) as exc:
        configure("--owner-token", WRONG_TOKEN)

    assert WRONG_TOKEN not in str(exc.value)
    assert WRONG_TOKEN not in caplog.text
    # The token it had is kept.
    assert ServiceConfig.objects.get().owner_token == emulator.owner_token


@pytest.mark.django_db
def test_configure_with_only_an_owner_token_needs_a_configured_server(emulator) -> None:
    with pytest.raises(CommandError, match="No Plex server is configured yet"):
        configure(owner_token=emulator.owner_token)

    assert not ServiceConfig.objects.exists()


@pytest.mark.django_db
def test_configure_refuses_an_empty_owner_token_from_stdin(emulator) -> None:
    configure(url=emulator.url)

    with pytest.raises(CommandError, match="empty"):
        configure("--owner-token", "-", stdin=StringIO("\n"))

    assert ServiceConfig.objects.get().owner_token is None


# -- the admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_says_an_owner_token_is_set_without_showing_it(
    admin_client: Client, emulator
) -> None:
    config = ServiceConfig.objects.create(url=emulator.url, owner_token=emulator.owner_token)

    page = admin_client.get(f"/admin/plex/serviceconfig/{config.pk}/change/").content.decode()
    listing = admin_client.get("/admin/plex/serviceconfig/").content.decode()

    assert emulator.owner_token not in page + listing
    assert raw_owner_token(config) not in page + listing
    assert "Set owner token" in page
    assert 'type="password"' in page
    assert "Owner token:" in page
    assert ">set<" in page


@pytest.mark.django_db
def test_the_admin_sets_an_owner_token_the_server_accepts(admin_client: Client, emulator) -> None:
    config = ServiceConfig.objects.create(url=emulator.url)

    response = admin_client.post(
        f"/admin/plex/serviceconfig/{config.pk}/change/",
        change_form(config, new_owner_token=emulator.owner_token),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    config.refresh_from_db()
    assert config.owner_token == emulator.owner_token


@pytest.mark.django_db
def test_the_admin_refuses_an_owner_token_the_server_refuses(
    admin_client: Client, emulator
) -> None:
    config = ServiceConfig.objects.create(url=emulator.url, owner_token=emulator.owner_token)

    response = admin_client.post(
        f"/admin/plex/serviceconfig/{config.pk}/change/",
        change_form(config, new_owner_token=WRONG_TOKEN),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "The Plex server refused this token" in page
    assert WRONG_TOKEN not in page
    assert emulator.owner_token not in page
    config.refresh_from_db()
    assert config.owner_token == emulator.owner_token


@pytest.mark.django_db
def test_saving_the_admin_page_without_a_new_owner_token_keeps_it(
    admin_client: Client, emulator
) -> None:
    config = ServiceConfig.objects.create(url=emulator.url, owner_token=emulator.owner_token)

    response = admin_client.post(
        f"/admin/plex/serviceconfig/{config.pk}/change/", change_form(config, timeout="4.0")
    )

    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.timeout, config.owner_token) == (4.0, emulator.owner_token)


@pytest.mark.django_db
def test_the_admin_clears_the_owner_token(admin_client: Client, emulator) -> None:
    config = ServiceConfig.objects.create(url=emulator.url, owner_token=emulator.owner_token)

    response = admin_client.post(
        f"/admin/plex/serviceconfig/{config.pk}/change/",
        change_form(config, clear_owner_token="on"),
    )

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.owner_token is None
    assert raw_owner_token(config) is None


@pytest.mark.django_db
def test_the_admin_tells_whether_live_updates_run(admin_client: Client, emulator) -> None:
    config = ServiceConfig.objects.create(url=emulator.url)
    url = f"/admin/plex/serviceconfig/{config.pk}/change/"

    assert "off: set the owner token, then run manage.py plex_events" in (
        admin_client.get(url).content.decode()
    )
    config.owner_token = emulator.owner_token
    config.save()
    assert "off: run manage.py plex_events" in admin_client.get(url).content.decode()

    freshness_for(config).report("live", "s1", time.time() - 12)
    assert "live, last event 12 s ago" in admin_client.get(url).content.decode()

    freshness_for(config).report("reconnecting", "s1", None)
    assert "reconnecting" in admin_client.get(url).content.decode()
