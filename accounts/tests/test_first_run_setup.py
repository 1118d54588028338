"""A fresh install (no Plex server set up): who may sign in with Plex, and where they go. The
owner of a Plex server becomes the administrator and picks it; nobody else gets in until then.
The browser walk is medianest/tests/test_browser_setup.py."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.plex_signin import SETUP_SEALED_KEY
from accounts.tests.test_plex_signin import approve, come_back, start
from plex.models import ServiceConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh(settings, emulator, redis_cache):
    settings.PLEX_TV_URL = emulator.url
    settings.PLEX_AUTH_URL = f"{emulator.url}/auth"
    assert not ServiceConfig.objects.exists()
    return emulator


def test_the_servers_owner_becomes_the_administrator_and_is_sent_to_pick_it(client, fresh) -> None:
    response = come_back(client, approve(fresh, start(client), "owner"))

    assert response.status_code == 302
    assert response["Location"] == "/admin/plex/serviceconfig/setup/"
    owner = User.objects.get(plex_id=fresh.accounts["owner"].id)
    assert owner.is_staff
    assert owner.is_superuser
    assert not owner.has_usable_password()
    # The plex.tv token rides in the session encrypted, never as it is.
    sealed = client.session[SETUP_SEALED_KEY]
    assert fresh.accounts["owner"].auth_token not in sealed
    page = client.get("/admin/plex/serviceconfig/setup/")
    assert page.status_code == 200
    assert fresh.friendly_name in page.text
    assert fresh.accounts["owner"].auth_token not in page.text
    assert fresh.owner_token not in page.text

    picked = client.post(
        "/admin/plex/serviceconfig/setup/",
        {"action": "pick", "machine": fresh.machine_identifier},
    )

    config = ServiceConfig.objects.get(enabled=True)
    assert picked.status_code == 302
    assert picked["Location"] == f"/admin/plex/serviceconfig/{config.pk}/change/"
    assert config.url == fresh.live_url
    assert SETUP_SEALED_KEY not in client.session
    owner.refresh_from_db()
    assert owner.plex_token == fresh.owner_token  # the owner browses too
    assert client.get("/api/v1/plex/libraries").status_code == 200


def test_an_account_that_owns_no_server_cannot_claim_a_fresh_install(client, fresh) -> None:
    response = come_back(client, approve(fresh, start(client), "friend"))

    assert response.status_code == 503
    assert "owner signs in first to set it up" in response.text
    assert not User.objects.exists()


def test_once_there_is_an_administrator_another_owner_cannot_claim_it(client, fresh) -> None:
    User.objects.create(username="admin", is_staff=True)
    # The stranger owns a server of their own ("Sam's Server"), not this installation.
    response = come_back(client, approve(fresh, start(client), "stranger"))

    assert response.status_code == 503
    assert not User.objects.filter(plex_id=fresh.accounts["stranger"].id).exists()


def test_the_setup_page_is_for_staff_only(client, fresh) -> None:
    user = User.objects.create(username="someone")
    client.force_login(user)
    response = client.get("/admin/plex/serviceconfig/setup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
