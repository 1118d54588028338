"""Plex images as MediaNest serves them, for the API and the pages alike: which Plex paths are
proxied, in which sizes, at which URL. Plex URLs, and so Plex tokens, never reach a browser.

Sizes come from a small fixed set: any width asked for is rounded up to the next one, and the
height follows by the same factor, its aspect ratio rounded to the nearest of 16:9, 3:2, 1:1
or 2:3. Each poster then has a handful of variants, each one transcode by Plex and one cache
entry, however many widths clients ask for.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from django.urls import get_script_prefix, reverse

# The Plex image paths MediaNest proxies, as real servers write them (docs/plex-api.md, Images):
# an item's poster or art; a collection's composite (with the grid size Plex adds,
# `?width=400&height=600`), custom poster or art. Each ends in the image's version stamp.
# ASCII digits only ([0-9], not \d): "²" or "٣" must not be a second spelling of a key.
# Nothing else passes: not a remote URL (Plex would fetch it for us), not another server path.
IMAGE_PATH = re.compile(
    r"^/library/(?:metadata/(?P<item>[0-9]{1,20})/(?:thumb|art)"
    r"|collections/(?P<collection>[0-9]{1,20})/(?:composite|thumb|art))/[0-9]{1,20}"
    r"(?:\?width=[0-9]{1,5}&height=[0-9]{1,5})?$"
)
IMAGE_WIDTHS = (150, 300, 450, 600, 900, 1200, 2000)
# Height over width: landscape art, landscape photos, album covers, posters.
ASPECTS = (9 / 16, 2 / 3, 1.0, 3 / 2)
MIN_SIDE, MAX_SIDE = 16, 2000

POSTER = (300, 450)  # the API's posters; the pages' grid shows 150x225 with a 2x of this
ART = (1200, 675)


def image_size(width: int, height: int) -> tuple[int, int]:
    """The served size for a request of `width` x `height` (each MIN_SIDE..MAX_SIDE)."""
    served_width = next((w for w in IMAGE_WIDTHS if w >= width), IMAGE_WIDTHS[-1])
    aspect = min(ASPECTS, key=lambda candidate: abs(candidate - height / width))
    return served_width, round(served_width * aspect)


def image_item_key(path: str) -> str | None:
    """The rating key of the item (or collection) a proxied image path belongs to; None for
    any path MediaNest does not proxy. fullmatch: "$" alone would allow a trailing newline."""
    match = IMAGE_PATH.fullmatch(path)
    return (match["item"] or match["collection"]) if match else None


def image_url(path: str, size: tuple[int, int]) -> str | None:
    """The MediaNest URL of a Plex image path at a served size, or None when there is none."""
    if not path or not path.startswith("/library/"):
        return None
    width, height = _served(size)
    # Built by hand: reverse() and urlencode() per image were most of a cached page's cost.
    # The usual path is digits, letters and slashes, where quoting is one replace.
    escaped = path.replace("/", "%2F") if _PLAIN.fullmatch(path) else quote(path, safe="")
    return f"{_image_view(get_script_prefix())}?path={escaped}&width={width}&height={height}"


_PLAIN = re.compile(r"[A-Za-z0-9/_.-]*")


@lru_cache(maxsize=64)
def _served(size: tuple[int, int]) -> tuple[int, int]:
    return image_size(*size)


@lru_cache(maxsize=8)
def _image_view(script_prefix: str) -> str:
    return reverse("plex-api:image")
