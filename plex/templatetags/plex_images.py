"""Template helpers for Plex items: posters as MediaNest image URLs (never Plex URLs, so never
a Plex token), links to an item's page, and durations and episode numbers in words.

    {% load plex_images %}
    {% poster item %}                 <img ...> 150x225 with a 2x srcset, or a placeholder box
    {% poster item 300 450 "eager" %} another size (the 2x is twice that), loaded at once
    <a href="{{ item|item_url }}">    /item/<key>/, or /collection/<key>/ for a collection
    {{ item.duration|duration }}      "1 h 41 m"
    {{ item|item_subtitle }}          "Show · S2 E5" for an episode, the year for a movie
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from plex.client import MediaItem
from plex.converters import PlexKey
from plex.images import image_url

register = template.Library()

POSTER_SIZE = (150, 225)


@register.simple_tag
def poster(
    item: MediaItem,
    width: int = POSTER_SIZE[0],
    height: int = POSTER_SIZE[1],
    loading: str = "lazy",
) -> SafeString:
    """The poster, sized in the markup so the grid does not jump while images load. Lazy by
    default (grids of 48); an item page's own poster is above the fold and loads "eager"."""
    small = image_url(item.thumb, (width, height))
    if small is None:
        # Same box, no image: the title beside it says what it is.
        return format_html(
            '<span class="poster poster-missing" role="img" aria-label="{}">'
            '<span aria-hidden="true">{}</span></span>',
            f"{item.title} (no poster)",
            (item.title[:1] or "?").upper(),
        )
    large = image_url(item.thumb, (width * 2, height * 2))
    return format_html(
        '<img class="poster" src="{}" srcset="{} 1x, {} 2x" width="{}" height="{}" '
        'loading="{}" alt="{}">',
        small,
        small,
        large,
        width,
        height,
        "eager" if loading == "eager" else "lazy",
        item.title,
    )


@register.filter
def item_url(item: MediaItem) -> str:
    # A key that is not digits (a broken or hostile Plex) has no page: no link, rather than
    # a NoReverseMatch that would fail the whole page.
    key = item.rating_key
    if not PlexKey.matches(key):
        return ""
    # One reverse() per URL name and script prefix, then the key put in: a reverse() per
    # card was a quarter of a cached library page's time.
    name = "pages:collection" if item.type == "collection" else "pages:item"
    before, after = _url_around_key(name, get_script_prefix())
    return f"{before}{key}{after}"


_KEY_MARK = "4242424242"  # a key no real path holds twice: where the key goes


@lru_cache(maxsize=16)
def _url_around_key(name: str, script_prefix: str) -> tuple[str, str]:
    before, _, after = reverse(name, args=[_KEY_MARK]).partition(_KEY_MARK)
    return before, after


@register.filter
def duration(milliseconds: int | None) -> str:
    if not milliseconds or milliseconds < 0:
        return ""
    minutes = round(milliseconds / 60_000)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} m"
    return f"{hours} h" if hours else f"{minutes} m"


@register.filter
def episode_number(item: MediaItem) -> str:
    """ "S2 E5" for an episode, "E5" when the season is unknown."""
    if item.index is None:
        return ""
    if item.parent_index is None:
        return f"E{item.index}"
    return f"S{item.parent_index} E{item.index}"


# How a search hit found through something else reads ("reason" is the hub that led to it).
_REASONS = {"actor": "with {}", "director": "directed by {}", "artist": "by {}", "show": "in {}"}


@register.filter
def item_subtitle(item: MediaItem) -> str:
    """The line under a poster's title: what tells two "Pilot"s apart, and for a search hit
    found through something else (its actor, its artist), what."""
    text = _subtitle(item)
    if item.related and item.reason_title:
        why = _REASONS.get(item.reason, "{}").format(item.reason_title)
        text = f"{text} · {why}" if text else why
    return text


def _subtitle(item: MediaItem) -> str:
    if item.type == "episode":
        return " · ".join(part for part in (item.grandparent_title, episode_number(item)) if part)
    if item.type == "season":
        # A season in recently added stands for its new episodes: say whose, and how many.
        episodes = item.leaf_count
        new = f"{episodes} episode{'s' if episodes != 1 else ''}" if episodes else ""
        return " · ".join(part for part in (item.parent_title, new) if part)
    if item.type == "album":
        return item.parent_title
    if item.type == "track":
        return " · ".join(part for part in (item.grandparent_title, item.parent_title) if part)
    if item.type == "collection":
        count = item.child_count
        return f"{count} item{'s' if count != 1 else ''}" if count is not None else ""
    return str(item.year) if item.year else ""


TYPE_LABELS = {
    "movie": "Movie",
    "show": "Show",
    "season": "Season",
    "episode": "Episode",
    "artist": "Artist",
    "album": "Album",
    "track": "Track",
    "collection": "Collection",
}


@register.filter
def type_label(kind: str) -> str:
    return TYPE_LABELS.get(kind, kind.title())
