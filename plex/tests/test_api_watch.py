"""A friend's own watch state through the API: what they see, what they mark, and that nobody
else's view moves. Expectations come from the emulator's own record of each account's state
(`emulator.watch_state`), never from MediaNest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client
from plexapi.server import PlexServer

from plex_emulator import Emulator

API = "/api/v1/plex/"


def get_json(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response.json()


@pytest.fixture
def half_seen(emulator: Emulator) -> dict[str, str]:
    """An episode the friend is part way through: its key, its season's and its show's."""
    for key, state in sorted(emulator.watched_keys("friend").items()):
        item = emulator.library.by_key[key]
        if item["type"] == "episode" and "viewOffset" in state:
            return {
                "episode": key,
                "season": item["parentRatingKey"],
                "show": item["grandparentRatingKey"],
            }
    raise AssertionError("the friend has no episode in progress")


@pytest.fixture
def plexapi_friend(emulator: Emulator) -> Iterator[PlexServer]:
    with requests.Session() as session:
        yield PlexServer(emulator.url, emulator.friend_token, session=session, timeout=10)


@pytest.mark.django_db
def test_items_carry_the_friends_own_watch_state(
    friend_client: Client, owner_client: Client, emulator: Emulator, half_seen: dict[str, str]
) -> None:
    key = half_seen["episode"]
    state = emulator.watch_state("friend", key)
    season = emulator.watch_state("friend", half_seen["season"])

    episode = get_json(friend_client, f"{API}items/{key}")
    listed = get_json(friend_client, f"{API}items/{half_seen['season']}/children")
    season_item = get_json(friend_client, f"{API}items/{half_seen['season']}")
    owners = get_json(owner_client, f"{API}items/{key}")

    assert episode["viewOffset"] == state["viewOffset"]
    assert episode["progress"] == pytest.approx(state["viewOffset"] / episode["duration"], 1e-3)
    assert 0 < episode["progress"] < 1
    assert next(i for i in listed if i["ratingKey"] == key)["viewOffset"] == state["viewOffset"]
    assert season_item["viewedLeafCount"] == season["viewedLeafCount"]
    assert season_item["leafCount"] == season["leafCount"]
    owner_state = emulator.watch_state("owner", key)
    assert owners["viewOffset"] == owner_state.get("viewOffset")
    assert owners["viewCount"] == owner_state.get("viewCount", 0)


@pytest.mark.django_db
def test_continue_watching_is_plexs_deck_for_this_user(
    friend_client: Client, plexapi_friend: PlexServer
) -> None:
    expected = [str(item.ratingKey) for item in plexapi_friend.library.onDeck()][:20]

    found = get_json(friend_client, f"{API}continue-watching")

    assert [item["ratingKey"] for item in found] == expected
    assert expected
    assert all(item["playUrl"] for item in found)


@pytest.mark.django_db
def test_marking_watched_changes_the_friends_item_counts_and_deck_at_once_not_the_owners(
    friend_client: Client, owner_client: Client, emulator: Emulator, half_seen: dict[str, str]
) -> None:
    key, season_key, show_key = half_seen["episode"], half_seen["season"], half_seen["show"]
    # Everything cached first, as a friend browsing would have it.
    before_season = get_json(friend_client, f"{API}items/{season_key}")
    before_show = get_json(friend_client, f"{API}items/{show_key}")
    before_deck = get_json(friend_client, f"{API}continue-watching", limit=100)
    assert key in [item["ratingKey"] for item in before_deck]
    owners = owner_client.get(f"{API}items/{key}")
    owner_season = get_json(owner_client, f"{API}items/{season_key}")

    marked = friend_client.post(f"{API}items/{key}/watched")

    assert marked.status_code == 200, marked.content
    assert (marked.json()["watched"], marked.json()["viewOffset"]) == (True, None)
    episode = friend_client.get(f"{API}items/{key}")
    season = get_json(friend_client, f"{API}items/{season_key}")
    show = get_json(friend_client, f"{API}items/{show_key}")
    deck = get_json(friend_client, f"{API}continue-watching", limit=100)
    assert episode["X-Cache"] == "HIT"  # the answer to the mark itself was kept
    assert episode.json()["viewCount"] >= 1
    assert season["viewedLeafCount"] == before_season["viewedLeafCount"] + 1
    assert show["viewedLeafCount"] == before_show["viewedLeafCount"] + 1
    assert key not in [item["ratingKey"] for item in deck]
    # The owner's answers were not even asked again: still the same cached copies.
    owner_again = owner_client.get(f"{API}items/{key}")
    assert (owner_again["X-Cache"], owner_again.json()) == ("HIT", owners.json())
    assert get_json(owner_client, f"{API}items/{season_key}") == owner_season
    assert emulator.watch_state("owner", key) == _state(owners.json())


@pytest.mark.django_db
def test_marking_unwatched_undoes_it(
    friend_client: Client, emulator: Emulator, half_seen: dict[str, str]
) -> None:
    key = half_seen["episode"]
    assert friend_client.post(f"{API}items/{key}/watched").status_code == 200

    unmarked = friend_client.delete(f"{API}items/{key}/watched")

    assert unmarked.status_code == 200
    assert (unmarked.json()["watched"], unmarked.json()["viewCount"]) == (False, 0)
    assert emulator.watch_state("friend", key) == {}
    assert get_json(friend_client, f"{API}items/{key}")["watched"] is False


@pytest.mark.django_db
def test_marking_a_season_marks_every_episode(
    friend_client: Client, emulator: Emulator, half_seen: dict[str, str]
) -> None:
    season_key = half_seen["season"]

    marked = friend_client.post(f"{API}items/{season_key}/watched")
    episodes = get_json(friend_client, f"{API}items/{season_key}/children")

    assert marked.status_code == 200
    assert marked.json()["watched"] is True
    assert marked.json()["progress"] == 1.0
    assert all(episode["watched"] for episode in episodes)


@pytest.mark.django_db
def test_a_plex_failure_says_so_and_changes_nothing(
    friend_client: Client, emulator: Emulator, half_seen: dict[str, str]
) -> None:
    key = half_seen["episode"]
    before = get_json(friend_client, f"{API}items/{key}")
    state = emulator.watch_state("friend", key)
    emulator.set_fault("status", status=503, path_prefix="/:/scrobble")

    failed = friend_client.post(f"{API}items/{key}/watched")

    assert (failed.status_code, failed.json()["code"]) == (503, "plex_unavailable")
    assert failed.json()["detail"].startswith(f"Plex ({emulator.friendly_name}) is not answering")
    assert emulator.watch_state("friend", key) == state
    again = friend_client.get(f"{API}items/{key}")
    assert (again["X-Cache"], again.json()) == ("HIT", before)  # nothing was dropped either


@pytest.mark.django_db
def test_marks_are_refused_without_a_sign_in_or_for_an_unshared_item(
    client: Client, friend_client: Client, emulator: Emulator
) -> None:
    unshared = emulator.library.sections["2"].items[0]["ratingKey"]
    owners = emulator.watch_state("owner", unshared)

    anonymous = client.post(f"{API}items/{unshared}/watched")
    refused = friend_client.post(f"{API}items/{unshared}/watched")
    wrong_verb = friend_client.put(f"{API}items/{unshared}/watched")

    assert anonymous.status_code in (401, 403)
    assert (refused.status_code, refused.json()["code"]) == (404, "plex_not_found")
    assert wrong_verb.status_code == 405
    assert emulator.watch_state("owner", unshared) == owners
    assert emulator.watch_state("friend", unshared) == {}


def _state(item: dict[str, Any]) -> dict[str, Any]:
    """An API item's watch state in the emulator's terms (what it says the account has)."""
    state: dict[str, Any] = {}
    if item["viewCount"]:
        state["viewCount"] = item["viewCount"]
    if item["viewOffset"] is not None:
        state["viewOffset"] = item["viewOffset"]
    if item["lastViewedAt"] is not None:
        state["lastViewedAt"] = item["lastViewedAt"]
    return state


@pytest.mark.django_db
def test_the_schema_documents_watch_state_filters_marks_and_play_links(client: Client) -> None:
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    schema = response.json()

    paths = schema["paths"]
    items = paths["/api/v1/plex/libraries/{key}/items"]["get"]["parameters"]
    assert {"genre", "year", "decade", "contentRating", "unwatched"} <= {p["name"] for p in items}
    assert "/api/v1/plex/libraries/{key}/filters" in paths
    assert "/api/v1/plex/continue-watching" in paths
    assert {"post", "delete"} <= set(paths["/api/v1/plex/items/{rating_key}/watched"])
    fields = schema["components"]["schemas"]["MediaItem"]["properties"]
    assert {"viewOffset", "watched", "progress", "viewedLeafCount", "playUrl"} <= set(fields)
