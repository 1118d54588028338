"""What a friend is told when Plex refuses or fails: a 401 on one resource is not a revoked
sign-in until Plex refuses the token on its root too, a 403 is about that resource alone, and
no message carries the server's address (that is for the logs and the admin)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import redis
from django.test import Client

from accounts.models import User
from plex.tests.cached import expire_fresh_copies
from plex_emulator import Emulator

API = "/api/v1/plex/"


@pytest.fixture
def movie(emulator: Emulator) -> str:
    return emulator.library.sections["1"].items[0]["ratingKey"]


@pytest.mark.django_db
def test_a_401_on_one_item_is_a_403_for_that_item_and_the_sign_in_stays_good(
    friend_client: Client, friend: User, emulator: Emulator, movie: str
) -> None:
    emulator.set_fault("status", status=401, path_prefix=f"/library/metadata/{movie}")

    refused = friend_client.get(f"{API}items/{movie}")

    assert (refused.status_code, refused.json()["code"]) == (403, "plex_forbidden")
    friend.refresh_from_db()
    assert friend.plex_token_invalid is False
    assert friend_client.get(f"{API}libraries").status_code == 200
    emulator.clear_fault()
    assert friend_client.get(f"{API}items/{movie}").status_code == 200  # once the hiccup is over


@pytest.mark.django_db
def test_a_401_plex_confirms_on_its_root_asks_the_user_to_sign_in_again(
    friend_client: Client, friend: User, emulator: Emulator, movie: str
) -> None:
    emulator.set_fault("status", status=401)

    refused = friend_client.get(f"{API}items/{movie}")

    assert (refused.status_code, refused.json()["code"]) == (403, "plex_token_invalid")
    friend.refresh_from_db()
    assert friend.plex_token_invalid is True


@pytest.mark.django_db
def test_a_401_on_one_page_does_not_sign_the_friend_out(
    friend_client: Client, emulator: Emulator, movie: str
) -> None:
    emulator.set_fault("status", status=401, path_prefix=f"/library/metadata/{movie}")

    page = friend_client.get(f"/item/{movie}/")

    assert page.status_code == 403
    assert "does not let your account open this" in page.content.decode()
    assert friend_client.get("/").status_code == 200  # still signed in


@pytest.mark.django_db
def test_a_403_from_plex_is_a_403_not_a_broken_answer(
    friend_client: Client, emulator: Emulator, movie: str
) -> None:
    emulator.set_fault("status", status=403, path_prefix=f"/library/metadata/{movie}")

    response = friend_client.get(f"{API}items/{movie}")
    page = friend_client.get(f"/item/{movie}/")

    assert (response.status_code, response.json()["code"]) == (403, "plex_forbidden")
    # Not for this account: neither a sign-out nor an outage page.
    assert page.status_code == 403
    assert "does not let your account open this" in page.content.decode()
    assert friend_client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_403_forgets_the_copy_it_replaces(
    friend_client: Client, emulator: Emulator, redis_client: redis.Redis, movie: str
) -> None:
    # A share narrowed after the friend looked: the last good copy must not come back, even
    # when Plex is down afterwards.
    assert friend_client.get(f"{API}items/{movie}").status_code == 200
    emulator.set_fault("status", status=403, path_prefix=f"/library/metadata/{movie}")
    expire_fresh_copies()
    assert friend_client.get(f"{API}items/{movie}").status_code == 403
    emulator.set_fault("status", status=503)

    after = friend_client.get(f"{API}items/{movie}")

    assert (after.status_code, after.json()["code"]) == (503, "plex_unavailable")


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "code"), [(503, "plex_unavailable"), (500, "plex_unavailable")])
def test_failures_name_the_server_by_its_name_never_its_address(
    friend_client: Client, emulator: Emulator, status: int, code: str
) -> None:
    emulator.set_fault("status", status=status)
    address = urlsplit(emulator.url)

    api = friend_client.get(f"{API}libraries")
    page = friend_client.get("/")

    assert (api.status_code, api.json()["code"]) == (503, code)
    assert api.json()["detail"].startswith(f"Plex ({emulator.friendly_name}) is not answering")
    for text in (api.content.decode(), page.content.decode()):
        assert address.hostname not in text
        assert str(address.port) not in text
    assert f"Plex ({emulator.friendly_name})" in page.content.decode()


@pytest.mark.django_db
def test_an_unreadable_answer_names_the_server_by_its_name(
    friend_client: Client, emulator: Emulator
) -> None:
    emulator.set_fault("malformed")

    api = friend_client.get(f"{API}libraries")

    assert (api.status_code, api.json()["code"]) == (502, "plex_bad_response")
    assert api.json()["detail"] == (
        f"Plex ({emulator.friendly_name}) sent an answer MediaNest could not read."
    )
