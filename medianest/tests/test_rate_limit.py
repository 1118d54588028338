"""Sign-in attempts are limited per client address: starting a Plex sign-in (each attempt
creates a PIN at plex.tv and a session) and the admin's password login. Over the limit, a 429
page says when to try again."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from plex.models import ServiceConfig
from plex_emulator import Emulator

START = "/accounts/signin/plex/"


@pytest.fixture
def limited(settings: Any) -> None:
    settings.SIGNIN_RATE = "3/hour"


def pins_created(emulator: Emulator) -> int:
    return emulator.stats()["by_path"].get("/api/v2/pins", 0)


@pytest.mark.django_db
def test_past_the_limit_starting_a_plex_sign_in_is_a_429_that_says_when(
    limited: None, settings: Any, config: ServiceConfig, emulator: Emulator
) -> None:
    settings.PLEX_TV_URL = emulator.url
    client = Client(REMOTE_ADDR="203.0.113.7")

    answers = [client.post(START).status_code for _ in range(4)]

    assert answers == [302, 302, 302, 429]
    assert pins_created(emulator) == 3  # the refused attempt asked plex.tv nothing
    refused = client.post(START)
    assert 1 <= int(refused["Retry-After"]) <= 3600
    text = refused.content.decode()
    assert "Too many sign-in attempts" in text
    assert "Try again in" in text


@pytest.mark.django_db
def test_another_address_is_counted_apart(limited: None, settings: Any, config, emulator) -> None:
    settings.PLEX_TV_URL = emulator.url
    for _ in range(4):
        Client(REMOTE_ADDR="203.0.113.7").post(START)

    assert Client(REMOTE_ADDR="198.51.100.9").post(START).status_code == 302


@pytest.mark.django_db
def test_behind_a_proxy_the_address_it_saw_is_what_counts(
    limited: None, settings: Any, config, emulator
) -> None:
    settings.PLEX_TV_URL = emulator.url
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxy = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_PROTO": "https"}

    for _ in range(3):
        # A client may put anything in front of the address its proxy appends.
        Client(**proxy, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7").post(START, secure=True)
    neighbour = Client(**proxy, HTTP_X_FORWARDED_FOR="198.51.100.9").post(START, secure=True)
    again = Client(**proxy, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7").post(START, secure=True)

    assert neighbour.status_code == 302
    assert again.status_code == 429


@pytest.mark.django_db
def test_admin_password_guesses_are_limited_too(limited: None) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    guess = {"username": "admin", "password": "wrong", "next": "/admin/"}

    answers = [client.post("/admin/login/", guess).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert client.get("/admin/login/").status_code == 200  # the form itself stays reachable


@pytest.mark.django_db
def test_a_cache_that_is_down_lets_sign_ins_through(
    limited: None, settings: Any, unused_tcp_port: int
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client = Client(REMOTE_ADDR="203.0.113.7")
    guess = {"username": "admin", "password": "wrong"}

    assert [client.post("/admin/login/", guess).status_code for _ in range(5)] == [200] * 5
