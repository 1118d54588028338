"""API tokens kept by the process for API_TOKEN_CACHE_SECONDS (accounts/authentication.py): a
warm request asks the database nothing, and a revoked token or a deactivated user stops working
at once in the process that made the change, within those seconds everywhere else."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.authentication import TokenMemo
from accounts.models import User
from plex.connections import current

ROOT = "/api/v1/"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(TokenMemo, "clock", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def token(db: Any) -> Token:
    user = User.objects.create(username="script-owner")
    return Token.objects.create(user=user)


def ask(token_key: str) -> int:
    return Client().get(ROOT, HTTP_AUTHORIZATION=f"Token {token_key}").status_code


def revoke_elsewhere(token: Token) -> None:
    """What another process (another gunicorn worker's admin) deleting the token looks like
    from here: the row is gone, and this process heard no signal."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token WHERE key = %s", [token.key])


def test_a_warm_token_asks_the_database_nothing(
    token: Token, clock: list[float], django_assert_num_queries: Any
) -> None:
    assert ask(token.key) == 200

    with django_assert_num_queries(0):
        assert ask(token.key) == 200


def test_a_token_revoked_elsewhere_stops_working_within_api_token_cache_seconds(
    token: Token, clock: list[float], settings: Any
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 5
    assert ask(token.key) == 200
    revoke_elsewhere(token)

    clock[0] += 4.9
    still = ask(token.key)
    clock[0] += 0.2
    gone = ask(token.key)

    assert (still, gone) == (200, 403)


def test_a_user_deactivated_elsewhere_is_refused_within_api_token_cache_seconds(
    token: Token, clock: list[float]
) -> None:
    assert ask(token.key) == 200
    User.objects.filter(pk=token.user.pk).update(is_active=False)  # no signal: elsewhere

    clock[0] += 5.1

    assert ask(token.key) == 403


def test_a_token_deleted_in_this_process_stops_working_at_once(
    token: Token, clock: list[float]
) -> None:
    assert ask(token.key) == 200

    token.delete()

    assert ask(token.key) == 403


def test_a_user_saved_in_this_process_is_read_again_at_once(
    token: Token, clock: list[float]
) -> None:
    assert ask(token.key) == 200
    user = User.objects.get(pk=token.user.pk)

    user.is_active = False
    user.save()

    assert ask(token.key) == 403


def test_a_deleted_user_is_refused_at_once(token: Token, clock: list[float]) -> None:
    assert ask(token.key) == 200

    User.objects.get(pk=token.user.pk).delete()

    assert ask(token.key) == 403


def test_with_no_cache_seconds_every_request_reads_the_token(
    token: Token, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0
    assert ask(token.key) == 200

    with django_assert_num_queries(1):
        assert ask(token.key) == 200
    revoke_elsewhere(token)
    assert ask(token.key) == 403


def test_a_wrong_token_is_refused_every_time_and_not_kept(token: Token) -> None:
    assert [ask("not-a-real-key") for _ in range(2)] == [403, 403]

    assert len(current().token_memo._entries) == 0


def test_the_process_keeps_a_hash_of_the_token_never_the_token(token: Token) -> None:
    ask(token.key)

    kept = list(current().token_memo._entries)
    assert len(kept) == 1
    assert token.key.encode() not in kept[0]
    assert token.key not in repr(kept)
