"""Sign in with Plex through the emulator's plex.tv: the PIN flow end to end, in the test
client (the browser version is in tests of the pages)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from accounts.models import Installation, User
from harness.clock import ManualClock
from plex.models import ServiceConfig


@pytest.fixture
def plex_server(db, settings, emulator) -> ServiceConfig:
    settings.PLEX_TV_URL = emulator.url
    settings.PLEX_AUTH_URL = f"{emulator.url}/auth"
    return ServiceConfig.objects.create(url=emulator.url)


def start(client) -> dict[str, str]:
    """Press "Sign in with Plex"; return the parameters Plex's page was given."""
    response = client.post("/accounts/signin/plex/", {"next": "/"})
    assert response.status_code == 302
    location = response["Location"]
    base, _, fragment = location.partition("#?")
    assert base.endswith("/auth")
    return {name: values[0] for name, values in parse_qs(fragment).items()}


def approve(emulator, params: dict[str, str], account: str) -> str:
    """What the person does on Plex's page: pick an account. Returns where Plex sends them."""
    response = requests.post(
        f"{emulator.url}/auth/link",
        data={
            "code": params["code"],
            "clientID": params["clientID"],
            "forwardUrl": params["forwardUrl"],
            "account": account,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == 303
    return response.headers["Location"]


def come_back(client, forward_url: str):
    parts = urlsplit(forward_url)
    return client.get(f"{parts.path}?{parts.query}")


@pytest.mark.django_db
def test_the_friend_signs_in_with_plex_and_gets_their_own_server_token(
    client, emulator, plex_server
) -> None:
    params = start(client)
    assert params["context[device][product]"] == "MediaNest"
    assert params["clientID"] == Installation.plex_client_identifier()

    response = come_back(client, approve(emulator, params, "friend"))

    assert response.status_code == 302
    assert response["Location"] == "/"
    friend = emulator.accounts["friend"]
    user = User.objects.get(plex_id=friend.id)
    assert user.username == friend.username
    assert user.plex_username == friend.username
    assert user.plex_avatar == friend.thumb
    # The token for this server from the friend's resources, not their plex.tv account token.
    assert user.plex_token == emulator.friend_token
    assert client.get("/api/v1/plex/libraries").status_code == 200


@pytest.mark.django_db
def test_signing_in_again_refreshes_the_same_user(
    client, emulator, plex_server, plex_clock: ManualClock
) -> None:
    come_back(client, approve(emulator, start(client), "friend"))
    User.objects.filter(plex_id=emulator.accounts["friend"].id).update(plex_token_invalid=True)
    client.post("/accounts/signout/")
    # At the same instant, on a frozen clock: the one-poll-a-second pace is per PIN (plex.tv)
    # and per flow (MediaNest), and signing in again makes a new PIN and a new flow.

    come_back(client, approve(emulator, start(client), "friend"))

    user = User.objects.get(plex_id=emulator.accounts["friend"].id)
    assert not user.plex_token_invalid
    assert User.objects.filter(plex_id__isnull=False).count() == 1


@pytest.mark.django_db
def test_the_stranger_is_told_their_account_has_no_access(client, emulator, plex_server) -> None:
    response = come_back(client, approve(emulator, start(client), "stranger"))

    assert response.status_code == 403
    assert "has no access to this server" in response.text
    assert emulator.accounts["stranger"].username in response.text
    assert not User.objects.filter(plex_id=emulator.accounts["stranger"].id).exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_coming_back_before_plex_approved_shows_a_waiting_page(
    client, emulator, plex_server, plex_clock: ManualClock
) -> None:
    params = start(client)
    return_url = f"{urlsplit(params['forwardUrl']).path}?{urlsplit(params['forwardUrl']).query}"

    waiting = client.get(return_url)

    assert waiting.status_code == 200
    assert "Waiting for Plex" in waiting.text
    assert '<meta http-equiv="refresh" content="2">' in waiting.text
    # Asked again at once: MediaNest does not poll plex.tv faster than once a second.
    requests_before = emulator.stats()["by_path"].copy()
    again = client.get(return_url)
    assert again.status_code == 200
    assert "Waiting for Plex" in again.text
    assert emulator.stats()["by_path"] == requests_before
    # A second later it asks plex.tv again, once, and plex.tv answers (no 429): still waiting.
    plex_clock.advance(1.0)
    later = client.get(return_url)
    assert later.status_code == 200
    assert "Waiting for Plex" in later.text
    assert "Plex is slow to answer" not in later.text
    pin_path = f"/api/v2/pins/{client.session['plex_signin']['pin']}"
    assert emulator.stats()["by_path"] == {
        **requests_before,
        pin_path: requests_before[pin_path] + 1,
    }


@pytest.mark.django_db
def test_a_return_with_another_state_is_refused(client, emulator, plex_server) -> None:
    params = start(client)
    approve(emulator, params, "friend")

    response = client.get("/accounts/signin/plex/return/?state=forged")

    assert response.status_code == 400
    assert "did not start in this browser" in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_return_in_another_browser_is_refused(client, emulator, plex_server) -> None:
    from django.test import Client

    forward = approve(emulator, start(client), "friend")

    response = come_back(Client(), forward)

    assert response.status_code == 400


@pytest.mark.django_db
def test_an_expired_pin_says_so(client, emulator, plex_server, plex_clock: ManualClock) -> None:
    start(client)
    flow = client.session["plex_signin"]
    assert flow["expires"] == plex_clock() + 1800  # the PIN's expiresIn, from plex.tv
    plex_clock.advance(1800 + 1)

    response = client.get(f"/accounts/signin/plex/return/?state={flow['state']}")

    assert response.status_code == 400
    assert "expired" in response.text
    assert "plex_signin" not in client.session


@pytest.mark.django_db
def test_without_a_server_the_sign_in_page_asks_for_the_owner(client) -> None:
    text = client.get("/accounts/signin/").text
    assert "MediaNest is not set up yet" in text
    assert "owns" in text


@pytest.mark.django_db
def test_plex_tv_down_is_a_clear_message(client, settings, unused_tcp_port, emulator) -> None:
    ServiceConfig.objects.create(url=emulator.url)
    settings.PLEX_TV_URL = f"http://127.0.0.1:{unused_tcp_port}"
    response = client.post("/accounts/signin/plex/")
    assert response.status_code == 503
    assert "not answering" in response.text


@pytest.mark.django_db
def test_next_never_leaves_the_site(client, emulator, plex_server) -> None:
    response = client.post("/accounts/signin/plex/", {"next": "https://evil.example/"})
    params = {k: v[0] for k, v in parse_qs(response["Location"].partition("#?")[2]).items()}
    response = come_back(client, approve(emulator, params, "friend"))
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_sign_out_ends_the_session(client, emulator, plex_server) -> None:
    come_back(client, approve(emulator, start(client), "owner"))
    assert client.get("/api/v1/plex/libraries").status_code == 200

    client.post("/accounts/signout/")

    assert client.get("/api/v1/plex/libraries").status_code in {401, 403}


@pytest.mark.django_db
def test_the_client_identifier_is_made_once_and_kept(db, settings) -> None:
    settings.PLEX_CLIENT_IDENTIFIER = ""
    first = Installation.plex_client_identifier()
    assert first == Installation.plex_client_identifier()
    settings.PLEX_CLIENT_IDENTIFIER = "fixed-id"
    assert Installation.plex_client_identifier() == "fixed-id"


@pytest.mark.django_db
def test_no_plex_token_reaches_the_browser_during_sign_in(client, emulator, plex_server) -> None:
    params = start(client)
    pages = [come_back(client, approve(emulator, params, "friend")), client.get("/")]
    secrets = [emulator.friend_token, emulator.accounts["friend"].auth_token]
    for page in pages:
        text = page.content.decode() + str(page.headers) + str(client.cookies)
        assert not any(secret in text for secret in secrets)


def test_an_account_token_plex_tv_refuses_is_not_reported_as_an_outage(
    emulator, plex_server
) -> None:
    from accounts import plex_signin

    with pytest.raises(plex_signin.SignInFailed) as refused:
        plex_signin.finish(plex_signin.plextv(), "not-a-token-plex-tv-knows")

    assert refused.value.status == 400
    assert refused.value.message == "Plex did not accept this sign-in. Start again."


# -- the server's owner: their token becomes the owner token (live updates) ----------------------


@pytest.mark.django_db
def test_the_owners_sign_in_keeps_their_server_token_as_the_owner_token(
    client, emulator, plex_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    response = come_back(client, approve(emulator, start(client), "owner"))

    assert response.status_code == 302
    plex_server.refresh_from_db()
    assert plex_server.owner_token == emulator.owner_token
    assert User.objects.get(plex_id=emulator.accounts["owner"].id).plex_token == (
        emulator.owner_token
    )
    assert emulator.owner_token not in caplog.text


@pytest.mark.django_db
def test_a_friends_sign_in_leaves_the_owner_token_alone(client, emulator, plex_server) -> None:
    come_back(client, approve(emulator, start(client), "friend"))
    plex_server.refresh_from_db()
    assert plex_server.owner_token is None

    plex_server.owner_token = emulator.owner_token
    plex_server.save()
    client.post("/accounts/signout/")
    come_back(client, approve(emulator, start(client), "friend"))

    plex_server.refresh_from_db()
    assert plex_server.owner_token == emulator.owner_token
