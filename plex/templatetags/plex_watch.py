"""Template helpers for watch state: what the signed-in user has seen, in a check mark, a thin
bar or words. Each value comes from the user's own token (Plex keeps watch state per account).

    {% load plex_watch %}
    {% watch_overlay item %}          on a poster (or an episode row): a "Watched" check, or a
                                      bar when part-watched, with words for screen readers
    {{ item|card_watch_words }}       under a card's title: "3 of 10 watched" (shows, seasons)
    {{ item|watch_words }}            on an item page: "Watched", "38 min left" (beside the bar,
                                      "45% watched"), "3 of 10 episodes watched"
    {% watch_bar item %}              on an item page: the bar, named for screen readers

Only videos carry it: a "Watched" check on an album would say something Plex does not mean.
"""

from __future__ import annotations

import math

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from plex.client import MediaItem

register = template.Library()

VIDEO_LEAVES = frozenset({"movie", "episode"})
VIDEO_PARENTS = frozenset({"show", "season"})
# Kinds an item page offers "Mark as watched" for (a show or season: every episode).
MARKABLE = VIDEO_LEAVES | VIDEO_PARENTS

# A check mark drawn in the text colour; the words beside it are for screen readers.
_CHECK = mark_safe(
    '<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">'
    '<path d="M6.2 11.6 2.8 8.2l1.4-1.4 2 2 5.6-5.6 1.4 1.4z" fill="currentColor"/></svg>'
)


def percent(item: MediaItem) -> int:
    """Progress in whole percent, never 0 or 100 for something started and not finished: a
    bar that looks empty or full would say the opposite of the words beside it."""
    return min(99, max(1, math.floor(item.progress * 100)))


def time_left(item: MediaItem) -> str:
    """ "38 min left", "1 h 12 min left", or "" when the length or the position is unknown."""
    duration, offset = item.duration, item.view_offset
    if not duration or not offset or offset >= duration:
        return ""
    minutes = math.ceil((duration - offset) / 60_000)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min left" if minutes else f"{hours} h left"
    return f"{minutes} min left"


def _all_watched(item: MediaItem) -> bool:
    return item.type in VIDEO_PARENTS and item.watched


def _part_watched(item: MediaItem) -> bool:
    return item.type in VIDEO_LEAVES and item.in_progress


def _leaf_counts(item: MediaItem) -> tuple[int, int] | None:
    """(watched, all) episodes of a show or season, when Plex said how many it has."""
    if item.type not in VIDEO_PARENTS or not item.leaf_count:
        return None
    return min(item.viewed_leaf_count or 0, item.leaf_count), item.leaf_count


@register.simple_tag
def watch_overlay(item: MediaItem) -> SafeString:
    """What sits on a card's poster: the check for something watched (a show or season: every
    episode), the bar for a movie or episode part-watched, nothing otherwise. The bar is
    drawn for the eye; its words are in the card's link text, read with the title."""
    if _part_watched(item):
        share = percent(item)
        return format_html(
            '<progress class="watch-bar" max="100" value="{}" aria-hidden="true"></progress>'
            '<span class="visually-hidden">{}% watched</span>',
            share,
            share,
        )
    if (item.type in VIDEO_LEAVES and item.watched) or _all_watched(item):
        return format_html(
            '<span class="watched-badge">{}<span class="visually-hidden">Watched</span></span>',
            _CHECK,
        )
    return mark_safe("")


@register.filter
def card_watch_words(item: MediaItem) -> str:
    """ "3 of 10 watched" under a show's or season's title, once some but not all are."""
    counts = _leaf_counts(item)
    if counts is None or counts[0] == 0 or counts[0] >= counts[1]:
        return ""
    return f"{counts[0]} of {counts[1]} watched"


@register.filter
def watch_words(item: MediaItem) -> str:
    """The item page's line about what the user has seen of it ("" for music and the like)."""
    counts = _leaf_counts(item)
    if counts is not None:
        watched, episodes = counts
        if watched >= episodes:
            return f"All {episodes} episode{'s' if episodes != 1 else ''} watched"
        return f"{watched} of {episodes} episode{'s' if episodes != 1 else ''} watched"
    if item.type not in VIDEO_LEAVES:
        return ""
    if item.in_progress:  # a share of a known length: the time left is known too
        return time_left(item)
    return "Watched" if item.watched else "Not watched yet"


@register.simple_tag
def watch_bar(item: MediaItem) -> SafeString:
    """The item page's bar for a part-watched movie or episode: a native progressbar, named
    and valued in words for screen readers ("45% watched")."""
    if not _part_watched(item):
        return mark_safe("")
    share = percent(item)
    return format_html(
        '<progress class="watch-bar watch-bar-wide" max="100" value="{}" '
        'aria-label="Watched so far" aria-valuetext="{}% watched">{}%</progress>',
        share,
        share,
        share,
    )


@register.filter
def markable(item: MediaItem) -> bool:
    return item.type in MARKABLE
