"""A warm answer decoded and rendered once per process (plex/cache.py's Recall, `Cached.memo`,
plex/api/renderers.py, the pages' cards and filter options): the same bytes from Redis give the
same copy, new bytes a new one, and what users get is byte for byte what rendering anew gives."""

from __future__ import annotations

import json
import pickle
import re
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from plex.cache import Cached, PlexCache, Recall
from plex.client import FilterChoice
from plex.connections import current
from plex.pages import display
from plex.services import PlexService
from plex.tests.cached import expire_fresh_copies, expire_fresh_copy

API = "/api/v1/plex/"
KEY = "plex:v1:test-server:test-access:items:abc"


def envelope(value: Any, stored_at: float = 1.0) -> bytes:
    return pickle.dumps((stored_at, stored_at + 60, "off", value))


class Decoder:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, raw: bytes) -> Any:
        self.calls += 1
        return pickle.loads(raw)  # noqa: S301 (bytes this test made)


# -- Recall -----------------------------------------------------------------------------------


def test_the_same_bytes_give_the_same_copy_and_new_bytes_a_new_one() -> None:
    recall, decode = Recall(), Decoder()

    first = recall.decode("k", envelope(["a"]), decode)
    again = recall.decode("k", envelope(["a"]), decode)
    changed = recall.decode("k", envelope(["b"]), decode)

    assert again is first
    assert decode.calls == 2
    assert changed is not first
    assert changed[3] == ["b"]
    assert first.memo is not changed.memo


def test_only_answers_are_kept_not_counters_or_other_values() -> None:
    recall, decode = Recall(), Decoder()

    for _ in range(2):
        recall.decode("counter", pickle.dumps(7), decode)
        recall.decode("status", pickle.dumps({"state": "live"}), decode)

    assert decode.calls == 4


def test_past_its_budget_the_least_recently_used_copies_go() -> None:
    one, two = envelope("x" * 300), envelope("y" * 300)
    recall, decode = Recall(max_bytes=len(one) + len(two)), Decoder()
    recall.decode("one", one, decode)
    recall.decode("two", two, decode)
    recall.decode("one", one, decode)  # used again: "two" is now the oldest

    recall.decode("three", envelope("z" * 300), decode)
    recall.decode("one", one, decode)
    recall.decode("two", two, decode)

    assert decode.calls == 4  # one, two, three, then two again


def test_an_answer_bigger_than_the_budget_is_decoded_every_time() -> None:
    recall, decode = Recall(max_bytes=100), Decoder()
    big = envelope("x" * 500)

    recall.decode("big", big, decode)
    recall.decode("big", big, decode)

    assert decode.calls == 2


def test_remember_makes_once_per_copy_and_each_time_without_one() -> None:
    made: list[Any] = []

    def make(value: Any, suffix: str) -> str:
        made.append(value)
        return f"{value}{suffix}"

    kept = Cached("v", "HIT", memo={})
    plain = Cached("v", "MISS")

    assert [kept.remember(make, "!"), kept.remember(make, "!"), kept.remember(make, "?")] == [
        "v!",
        "v!",
        "v?",
    ]
    assert [plain.remember(make, "!"), plain.remember(make, "!")] == ["v!", "v!"]
    assert len(made) == 4


# -- on Redis ---------------------------------------------------------------------------------


@pytest.fixture
def plex_cache(redis_cache: str) -> PlexCache:
    return PlexCache(stale_ttl=3600, wait=5.0, guard=current().guard)


def test_a_warm_answer_is_the_process_own_copy_until_redis_holds_another(
    plex_cache: PlexCache,
) -> None:
    cold = plex_cache.fetch(KEY, 60, lambda: {"items": [1, 2]})
    warm = plex_cache.fetch(KEY, 60, lambda: {"items": ["never"]})
    again = plex_cache.fetch(KEY, 60, lambda: {"items": ["never"]})
    expire_fresh_copy(KEY)
    reloaded = plex_cache.fetch(KEY, 60, lambda: {"items": [3]})
    after = plex_cache.fetch(KEY, 60, lambda: {"items": ["never"]})

    assert (cold.state, cold.memo) == ("MISS", None)
    assert warm.value == {"items": [1, 2]}
    assert warm.memo is not None
    assert again.value is warm.value
    assert again.memo is warm.memo
    assert reloaded.state == "MISS"
    assert after.value == {"items": [3]}
    assert after.memo is not warm.memo


def test_without_django_redis_every_read_is_decoded_as_before(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    plex_cache = PlexCache(stale_ttl=3600, wait=5.0, guard=current().guard)

    plex_cache.fetch(KEY, 60, lambda: {"items": [1]})
    warm = plex_cache.fetch(KEY, 60, lambda: {"items": ["never"]})

    assert (warm.state, warm.value, warm.memo) == ("HIT", {"items": [1]}, None)


# -- the API ----------------------------------------------------------------------------------


def answers(client: Client, url: str, accept: str = "application/json") -> list[Any]:
    found = []
    for _ in range(3):
        response = client.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, response.content[:300]
        found.append((response["X-Cache"], response.content))
    return found


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "server",
        "libraries",
        "libraries/1/items?limit=50",
        "libraries/1/items?limit=7&offset=3",
        "libraries/1/filters",
        "recently-added",
        "search?q=the",
        "continue-watching",
    ],
)
def test_a_warm_answer_is_byte_for_byte_the_cold_one(owner_client: Client, path: str) -> None:
    (cold_state, cold), (_, warm), (state, again) = answers(owner_client, f"{API}{path}")

    assert (cold_state, state) == ("MISS", "HIT")
    assert warm == cold
    assert again == cold


@pytest.mark.django_db
def test_indented_json_is_rendered_anew_with_the_same_data(owner_client: Client) -> None:
    url = f"{API}libraries/1/items?limit=5"
    plain = answers(owner_client, url)[-1][1]

    indented = answers(owner_client, url, "application/json; indent=4")

    assert all(body.startswith(b'{\n    "items"') for _, body in indented)
    assert json.loads(indented[-1][1]) == json.loads(plain)
    assert answers(owner_client, url)[-1][1] == plain


@pytest.mark.django_db
def test_each_user_gets_their_own_answer_rendered_from_their_own_copy(
    owner_client: Client, friend_client: Client
) -> None:
    owner = answers(owner_client, f"{API}libraries")
    friend = answers(friend_client, f"{API}libraries")

    assert len({body for _, body in owner}) == len({body for _, body in friend}) == 1
    owner_titles = {library["title"] for library in json.loads(owner[0][1])}
    friend_titles = {library["title"] for library in json.loads(friend[0][1])}
    assert owner_titles > friend_titles  # the owner sees the library not shared with friends


@pytest.mark.django_db
def test_a_warm_answer_follows_a_new_copy_from_plex(owner_client: Client) -> None:
    url = f"{API}libraries/1/items?limit=5"
    before = answers(owner_client, url)[-1][1]
    expire_fresh_copies()

    reloaded = owner_client.get(url)
    warm = owner_client.get(url)

    assert (reloaded["X-Cache"], warm["X-Cache"]) == ("MISS", "HIT")
    assert reloaded.content == warm.content == before  # Plex's data did not change


# -- the pages ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_cards_are_the_poster_template_of_each_item(config: Any, friend: Any) -> None:
    service = PlexService.for_user(friend)
    service.library_items("1", 0, 12)
    result = PlexService.for_user(friend).library_items("1", 0, 12)  # warm: a kept copy
    assert result.memo is not None

    cards = display.cards(result)

    assert cards == "".join(
        render_to_string("pages/_poster.html", {"item": item}) for item in result.value.items
    )
    assert display.cards(result) is cards


def test_filter_options_are_library_html_s_loop_byte_for_byte() -> None:
    choices = Cached(
        {"genre": [FilterChoice("1", "Action"), FilterChoice("2", "Rock & Roll")]},
        "HIT",
        memo={},
    )

    (field,) = display.filter_fields(choices, {"genre": "2"})

    assert field.options_html == (
        '<option value="">Any genre</option>\n'
        "      \n"
        '      <option value="1">Action</option>\n'
        "      \n"
        '      <option value="2" selected>Rock &amp; Roll</option>\n'
        "      "
    )


@pytest.mark.django_db
def test_a_warm_library_page_is_the_cold_one(friend_client: Client) -> None:
    def library_page() -> str:
        response = friend_client.get("/library/1/", {"genre": "", "sort": ""}, follow=True)
        assert response.status_code == 200
        # The CSRF token of the sign-out form is masked anew for every page.
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    cold, warm, again = library_page(), library_page(), library_page()

    assert warm == cold
    assert again == cold
    assert cold.count('class="card"') == display.PER_PAGE
