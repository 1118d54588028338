"""Setup from plex.tv and a connection that heals itself (plex/discovery.py), against an emulator
of this module's own whose plex.tv publishes three connections for the server: a dead one (it
accepts and never answers), an impostor (another Plex server that accepts the same tokens) and
the live one, which a control can move to another port."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from accounts.models import User
from plex.connections import forget_all
from plex.discovery import heal
from plex.models import ServiceConfig
from plex_emulator import Emulator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def plex() -> Iterator[Emulator]:
    with Emulator(movies=40, shows=3, seed=7) as emulator:
        yield emulator


@pytest.fixture
def world(plex: Emulator, settings: Any, redis_cache: str) -> Iterator[Emulator]:
    settings.PLEX_TV_URL = plex.url
    settings.PLEX_AUTH_URL = f"{plex.url}/auth"
    plex.clear_fault()
    plex.reset_stats()
    yield plex
    plex.reset_connections()


def owner_account_token(plex: Emulator) -> str:
    return plex.accounts["owner"].auth_token


def configure(plex: Emulator) -> tuple[ServiceConfig, str]:
    out = StringIO()
    # A short timeout: the dead connection costs one to test (the live one answers in ms).
    token = owner_account_token(plex)
    call_command(
        "plex_configure", "--from-plex-tv", "--token", token, "--timeout", "1.5", stdout=out
    )
    config = ServiceConfig.objects.get(enabled=True)
    return config, out.getvalue()


def movie_titles(library: Any, section: str) -> set[str]:
    return {
        item["title"]
        for key, item in library.by_key.items()
        if item["type"] == "movie" and library.section_of[key] == section
    }


def by_state(config: ServiceConfig) -> dict[str, str]:
    return {check["uri"]: check["state"] for check in config.connection_checks}


def test_from_an_empty_database_the_owners_token_sets_up_the_live_connection(
    world: Emulator,
) -> None:
    assert not ServiceConfig.objects.exists()
    published = {c["uri"] for c in world.connections()}
    assert len(published) == 3

    config, printed = configure(world)

    assert config.url == world.live_url
    assert config.machine_identifier == world.machine_identifier
    assert config.server_name == world.friendly_name
    assert config.owner_token == world.owner_token  # for live updates, encrypted
    assert config.plex_tv_token == owner_account_token(world)
    assert sorted(by_state(config).values()) == ["another server", "no answer", "ok"]
    assert by_state(config)[world.live_url] == "ok"
    assert "Set up MediaNest Emulator" in printed
    assert "another server" in printed
    assert "no answer" in printed


def test_no_token_goes_to_an_address_before_it_answers_as_the_server(world: Emulator) -> None:
    configure(world)
    stats = world.impostor_stats()
    assert set(stats["by_path"]) <= {"/identity"}
    assert stats.get("with_token", 0) == 0


def test_the_friend_then_browses_the_real_servers_library(world: Emulator) -> None:
    configure(world)
    friend = User.objects.create(username="friend", plex_token=world.friend_token)
    from django.test import Client

    client = Client()
    client.force_login(friend)
    answer = client.get("/api/v1/plex/libraries/1/items?limit=100")

    assert answer.status_code == 200
    titles = {item["title"] for item in answer.json()["items"]}
    assert titles == movie_titles(world.library, "1")
    assert not set(world.impostor_stats()["by_path"]) - {"/identity"}


def test_an_account_that_owns_no_server_sets_nothing_up(world: Emulator) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="owns no Plex Media Server"):
        call_command(
            "plex_configure", "--from-plex-tv", "--token", world.accounts["friend"].auth_token
        )
    assert not ServiceConfig.objects.exists()


def test_a_token_plex_tv_refuses_is_a_clear_error(world: Emulator) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="did not accept"):
        call_command("plex_configure", "--from-plex-tv", "--token", "not-a-token")


def test_an_address_another_server_took_is_left_for_the_servers_own(world: Emulator) -> None:
    config, _ = configure(world)
    friend = User.objects.create(username="friend", plex_token=world.friend_token)
    impostor = next(uri for uri, state in by_state(config).items() if state == "another server")
    # The address in use now answers as another server (a reused LAN address, say).
    ServiceConfig.objects.filter(pk=config.pk).update(url=impostor)
    forget_all()
    from django.test import Client

    client = Client()
    client.force_login(friend)
    answer = client.get("/api/v1/plex/libraries/1/items?limit=100")

    assert answer.status_code == 200
    assert {item["title"] for item in answer.json()["items"]} == movie_titles(world.library, "1")
    assert ServiceConfig.objects.get(pk=config.pk).url == world.live_url
    assert not set(world.impostor_stats()["by_path"]) - {"/identity"}


def test_heal_keeps_the_address_that_still_answers(world: Emulator) -> None:
    config, _ = configure(world)
    assert heal(config) is None
    assert ServiceConfig.objects.get(pk=config.pk).url == world.live_url


def test_the_connection_taken_away_mid_load_is_replaced_within_the_breakers_reset_time(
    world: Emulator, live_server: Any, settings: Any
) -> None:
    config, _ = configure(world)
    friend = User.objects.create(username="friend", plex_token=world.friend_token)
    token = Token.objects.create(user=friend).key
    real = movie_titles(world.library, "1")
    results: list[tuple[float, int, set[str]]] = []
    stop = threading.Event()

    asked = iter(range(10**6))  # every request a page not cached yet: Plex is asked each time

    def browse() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        while not stop.is_set():
            n = next(asked)
            answer = session.get(
                f"{live_server.url}/api/v1/plex/libraries/1/items",
                params={"offset": n % 35, "limit": 1 + (n // 35) % 50, "sort": "titleSort:asc"},
                timeout=30,
            )
            titles = (
                {item["title"] for item in answer.json()["items"]}
                if answer.status_code == 200
                else set()
            )
            results.append((time.monotonic(), answer.status_code, titles))
            time.sleep(0.05)  # under the per-user API throttle (1200 a minute)

    workers = [threading.Thread(target=browse) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.0)
        old = world.live_url
        new = world.move_connection()
        moved_at = time.monotonic()
        assert new != old
        healed_at = None
        while time.monotonic() < moved_at + settings.PLEX_BREAKER_RESET_TIMEOUT:
            if ServiceConfig.objects.get(pk=config.pk).url == new:
                healed_at = time.monotonic()
                break
            time.sleep(0.1)
        time.sleep(1.5)  # answers from the new address
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=35)

    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) <= {200, 503}, statuses  # never a 500, never a 502
    assert healed_at is not None, f"MediaNest did not move: {statuses}"
    before = [status for at, status, _ in results if at < moved_at]
    settled = [status for at, status, _ in results if at > healed_at + 0.5]
    assert before
    assert set(before) == {200}
    assert settled
    assert set(settled) == {200}
    assert world.live_url == new
    for _, _, titles in results:
        assert titles <= real  # nothing from the impostor, ever
    assert not set(world.impostor_stats()["by_path"]) - {"/identity"}
    note = ServiceConfig.objects.get(pk=config.pk).connection_note
    assert note.startswith("Moved from")


def test_the_admin_shows_the_connection_in_use_and_why(world: Emulator) -> None:
    config, _ = configure(world)
    admin = User.objects.create(username="admin", is_staff=True, is_superuser=True)
    from django.test import Client

    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/plex/serviceconfig/{config.pk}/change/").text

    assert "Chosen at setup" in page
    assert "(remote) answered in" in page
    assert "Better ranked ones failed" in page
    for uri, state in by_state(config).items():
        assert f"<code>{uri}</code>" in page
        assert state in page
    for secret in (world.owner_token, owner_account_token(world)):
        assert secret not in page


def test_the_event_listener_follows_the_server_to_its_new_connection(
    world: Emulator, settings: Any
) -> None:
    from plex.events import Listener
    from plex.services import freshness_for

    config, _ = configure(world)
    settings.PLEX_CACHE_TTL_LIVE = 3600
    listener, stop = (
        Listener(sleep=lambda event, seconds: event.wait(min(seconds, 0.2))),
        (threading.Event()),
    )
    thread = threading.Thread(target=listener.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _eventually(lambda: freshness_for(config).status().state == "live")
        first = listener.session
        new = world.move_connection()  # nobody browses: the listener alone notices
        _eventually(lambda: ServiceConfig.objects.get(pk=config.pk).url == new)
        # A new stream, at the new address, its heartbeat saying so.
        _eventually(lambda: listener.session != first and listener.connected.is_set())
        _eventually(lambda: freshness_for(config).status().state == "live")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the listener did not stop"


def _eventually(check: Any, within: float = 15.0) -> None:
    ends = time.monotonic() + within
    while not check():
        assert time.monotonic() < ends, "not in time"
        time.sleep(0.05)
