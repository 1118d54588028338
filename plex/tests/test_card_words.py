"""The words under a poster: what a friend reads to tell two cards apart."""

from __future__ import annotations

import pytest

from plex.client import MediaItem
from plex.templatetags.plex_images import item_subtitle


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
