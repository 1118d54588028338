"""The words under a poster: what a friend reads to tell two cards apart, and the words and
marks of their watch state (plex/templatetags/plex_watch.py), from typed items alone."""

from __future__ import annotations

from typing import Any

import pytest

from plex.client import MediaItem
from plex.templatetags.plex_images import item_subtitle
from plex.templatetags.plex_watch import (
    card_watch_words,
    markable,
    time_left,
    watch_bar,
    watch_overlay,
    watch_words,
)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        # A season in recently added stands for its new episodes: whose, and how many.
        (
            {"type": "season", "title": "Season 2", "parentTitle": "Severance", "leafCount": 9},
            "Severance · 9 episodes",
        ),
        ({"type": "season", "parentTitle": "Severance", "leafCount": 1}, "Severance · 1 episode"),
        ({"type": "season", "parentTitle": "Severance"}, "Severance"),
        (
            {"type": "episode", "grandparentTitle": "Severance", "parentIndex": 2, "index": 5},
            "Severance · S2 E5",
        ),
        ({"type": "movie", "year": 1990}, "1990"),
        # A search hit found through its actor says so; a title match does not.
        (
            {
                "type": "movie",
                "year": 1990,
                "reason": "actor",
                "reasonTitle": "Arnold Schwarzenegger",
            },
            "1990 · with Arnold Schwarzenegger",
        ),
        (
            {"type": "album", "parentTitle": "Bob Dylan", "reason": "artist", "reasonTitle": "Bob"},
            "Bob Dylan · by Bob",
        ),
        ({"type": "movie", "reason": "genre", "reasonTitle": "Comedy"}, "Comedy"),
        ({"type": "movie", "year": 1990, "reason": "section", "reasonTitle": "4K"}, "1990"),
    ],
)
def test_card_subtitles(data: dict[str, object], words: str) -> None:
    assert item_subtitle(MediaItem(data)) == words


# -- watch state ------------------------------------------------------------------------------

HOUR = 3_600_000


def item(kind: str, **data: Any) -> MediaItem:
    return MediaItem({"type": kind, "title": "Heat", "ratingKey": "7", **data})


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({}, "Not watched yet"),
        ({"viewCount": 2}, "Watched"),
        ({"viewOffset": HOUR // 2}, "1 h 30 min left"),
        ({"viewOffset": HOUR + 22 * 60_000}, "38 min left"),
        ({"viewOffset": HOUR, "viewCount": 1}, "1 h left"),  # watching it again
        ({"viewOffset": 119_000}, "1 h 59 min left"),  # part of a minute counts as one
    ],
)
def test_a_movies_words(data: dict[str, Any], words: str) -> None:
    assert watch_words(item("movie", duration=2 * HOUR, **data)) == words


def test_a_resume_point_without_a_length_is_no_progress_to_show() -> None:
    movie = item("movie", viewOffset=HOUR)

    assert time_left(movie) == ""
    assert watch_words(movie) == "Not watched yet"
    assert watch_overlay(movie) == ""
    assert watch_words(item("episode", viewOffset=450_000, duration=None)) == "Not watched yet"


@pytest.mark.parametrize(
    ("viewed", "words", "card"),
    [
        (0, "0 of 10 episodes watched", ""),
        (3, "3 of 10 episodes watched", "3 of 10 watched"),
        (10, "All 10 episodes watched", ""),
    ],
)
def test_a_seasons_words_count_its_episodes(viewed: int, words: str, card: str) -> None:
    season = item("season", leafCount=10, viewedLeafCount=viewed)

    assert watch_words(season) == words
    assert card_watch_words(season) == card


def test_one_episode_is_singular() -> None:
    assert watch_words(item("show", leafCount=1, viewedLeafCount=0)) == ("0 of 1 episode watched")
    assert watch_words(item("show", leafCount=1, viewedLeafCount=1)) == "All 1 episode watched"


def test_a_card_shows_a_check_for_what_is_watched() -> None:
    overlay = watch_overlay(item("movie", viewCount=1, duration=HOUR))

    assert 'class="watched-badge"' in overlay
    assert '<span class="visually-hidden">Watched</span>' in overlay
    assert 'aria-hidden="true"' in overlay  # the check mark itself is not read
    assert "progress" not in overlay
    assert 'class="watched-badge"' in watch_overlay(item("show", leafCount=4, viewedLeafCount=4))


def test_a_card_shows_a_bar_for_what_is_part_watched_with_its_words_for_screen_readers() -> None:
    overlay = watch_overlay(item("episode", viewOffset=450_000, duration=1_000_000))

    assert '<progress class="watch-bar" max="100" value="45" aria-hidden="true">' in overlay
    assert '<span class="visually-hidden">45% watched</span>' in overlay
    assert "watched-badge" not in overlay


@pytest.mark.parametrize(("offset", "value"), [(1_000, 1), (999_000, 99)])
def test_a_bar_is_never_empty_or_full_while_part_watched(offset: int, value: int) -> None:
    overlay = watch_overlay(item("movie", viewOffset=offset, duration=1_000_000))

    assert f'value="{value}"' in overlay


def test_the_item_pages_bar_is_named_and_valued_in_words() -> None:
    bar = watch_bar(item("movie", viewOffset=450_000, duration=1_000_000))

    assert 'aria-label="Watched so far"' in bar
    assert 'aria-valuetext="45% watched"' in bar
    assert watch_bar(item("movie", viewCount=1, duration=HOUR)) == ""


@pytest.mark.parametrize(
    "kind", ["movie", "episode", "season", "show", "artist", "album", "track", "collection"]
)
def test_only_videos_have_watch_marks_and_a_mark_button(kind: str) -> None:
    video = kind in {"movie", "episode", "season", "show"}
    played = item(kind, viewCount=3, leafCount=2, viewedLeafCount=2, duration=HOUR)

    assert bool(watch_overlay(played)) == video
    assert bool(watch_words(played)) == video
    assert markable(played) == video
    assert watch_overlay(item(kind)) == ""


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ({"type": "movie", "ratingKey": "1042"}, "pages:item"),
        ({"type": "collection", "ratingKey": "42"}, "pages:collection"),
        ({"type": "episode", "ratingKey": "4242424242"}, "pages:item"),
    ],
)
@pytest.mark.parametrize("prefix", ["/", "/media/"])
def test_card_links_are_what_reverse_gives_under_any_script_prefix(
    data: dict[str, object], name: str, prefix: str
) -> None:
    from django.urls import reverse, set_script_prefix

    from plex.templatetags.plex_images import item_url

    set_script_prefix(prefix)
    try:
        assert item_url(MediaItem(data)) == reverse(name, args=[data["ratingKey"]])
        assert item_url(MediaItem(data)).startswith(prefix)
    finally:
        set_script_prefix("/")


def test_a_card_without_a_usable_key_links_nowhere() -> None:
    from plex.templatetags.plex_images import item_url

    assert item_url(MediaItem({"type": "movie", "ratingKey": "12/../x"})) == ""
