"""/healthz says whether the live-updates listener (manage.py plex_events) is running, and never
fails for it."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from plex.models import ServiceConfig
from plex.services import freshness_for


@pytest.mark.django_db
def test_healthz_says_events_are_off_when_no_server_is_configured(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["events"] == "off"
    assert response.json()["events_last_event_age"] is None


@pytest.mark.django_db
def test_healthz_says_events_are_off_without_a_listener(config: ServiceConfig, client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["events"] == "off"
    assert response.json()["events_last_event_age"] is None


@pytest.mark.django_db
def test_healthz_says_events_are_live_with_the_age_of_the_last_event(
    config: ServiceConfig, client: Client, emulator
) -> None:
    config.owner_token = emulator.owner_token
    config.save()
    freshness_for(config).report("live", "s1", time.time() - 30)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["events"] == "live"
    assert 29 <= body["events_last_event_age"] < 40
    assert emulator.owner_token.encode() not in response.content
    assert b"s1" not in response.content  # the session is the cache's business, not a probe's


@pytest.mark.django_db
def test_healthz_stays_up_while_the_listener_reconnects(config: ServiceConfig, client) -> None:
    freshness_for(config).report("reconnecting", "s1", None)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["events"] == "reconnecting"
    assert response.json()["events_last_event_age"] is None


@pytest.mark.django_db
def test_healthz_says_off_once_the_listener_stopped(config: ServiceConfig, client) -> None:
    freshness = freshness_for(config)
    freshness.report("live", "s1", time.time())
    freshness.report("off", "s1", None)

    assert client.get("/healthz").json()["events"] == "off"


@pytest.mark.django_db  # for the query counter: the check itself must make no query
def test_the_liveness_check_asks_nothing_of_the_database_or_the_cache(
    client, django_assert_max_num_queries, monkeypatch
) -> None:
    from django.core.cache import cache

    def no_cache(*args, **kwargs):
        raise AssertionError("the liveness check used the cache")

    for name in ("get", "set", "get_many", "add", "delete"):
        monkeypatch.setattr(cache, name, no_cache)

    with django_assert_max_num_queries(0):
        response = client.get("/healthz/live")
        head = client.head("/healthz/live")
    refused = client.post("/healthz/live")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert head.status_code == 200
    assert refused.status_code == 405
    assert response["Cache-Control"] == "no-store"
