from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from accounts.models import User

TOKEN = "zq8-PLEX-token-4f1c"


def raw_column(user: User) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT plex_token FROM accounts_user WHERE id = %s", [user.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_it_stores_only_ciphertext() -> None:
    user = User.objects.create(username="ann")
    user.set_plex_token(TOKEN)
    user.save()

    stored = raw_column(user)
    assert stored
    assert TOKEN not in stored
    assert User.objects.get(pk=user.pk).plex_token == TOKEN


@pytest.mark.django_db
def test_an_empty_token_is_no_token() -> None:
    user = User.objects.create(username="ann", plex_token="")
    assert raw_column(user) is None
    assert not User.objects.get(pk=user.pk).has_plex_token
    assert list(User.objects.with_plex_token()) == []


@pytest.mark.django_db
def test_tokens_survive_a_secret_key_rotation() -> None:
    with override_settings(SECRET_KEY="old-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[]):
        user = User.objects.create(username="ann", plex_token=TOKEN)

    with override_settings(
        SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 40]
    ):
        assert User.objects.get(pk=user.pk).plex_token == TOKEN


@pytest.mark.django_db
def test_a_token_under_a_lost_key_reads_as_none_not_ciphertext() -> None:
    with override_settings(SECRET_KEY="old-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[]):
        user = User.objects.create(username="ann", plex_token=TOKEN)

    with override_settings(SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[]):
        reread = User.objects.get(pk=user.pk)
    assert reread.plex_token is None
    assert not reread.has_plex_token


@pytest.mark.django_db
def test_setting_a_new_token_clears_the_rejection() -> None:
    user = User.objects.create(username="ann", plex_token=TOKEN, plex_token_invalid=True)
    user.set_plex_token("another")
    user.save()
    user.refresh_from_db()
    assert user.plex_token == "another"
    assert not user.plex_token_invalid
