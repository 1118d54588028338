from __future__ import annotations

import pytest

from accounts.models import User

TOKEN = "tok-visible-nowhere-9"


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser("boss", password="s3cret-pass", plex_token=TOKEN)


@pytest.mark.django_db
def test_the_user_page_says_a_token_is_set_without_showing_it(client, staff: User) -> None:
    client.force_login(staff)
    friend = User.objects.create(username="ann", plex_token="friend-token-77")

    page = client.get(f"/admin/accounts/user/{friend.pk}/change/").content.decode()
    listing = client.get("/admin/accounts/user/").content.decode()

    assert "friend-token-77" not in page + listing
    assert TOKEN not in page + listing
    assert "Replace Plex token" in page
    assert ">set<" in listing


@pytest.mark.django_db
def test_staff_can_replace_a_token(client, staff: User) -> None:
    client.force_login(staff)
    friend = User.objects.create(username="ann", plex_token="old-token", plex_token_invalid=True)
    url = f"/admin/accounts/user/{friend.pk}/change/"
    form = {
        "username": "ann",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "new_plex_token": "new-token",
    }

    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    friend.refresh_from_db()
    assert friend.plex_token == "new-token"
    assert not friend.plex_token_invalid


@pytest.mark.django_db
def test_saving_without_a_new_token_keeps_the_old_one(client, staff: User) -> None:
    client.force_login(staff)
    friend = User.objects.create(username="ann", plex_token="old-token")
    form = {"username": "ann", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}

    client.post(f"/admin/accounts/user/{friend.pk}/change/", form)

    friend.refresh_from_db()
    assert friend.plex_token == "old-token"
