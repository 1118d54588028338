"""Real images for every thumb, art and collection composite: a poster-like JPEG of any size."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw

MAX_SIDE = 4000


def _colours(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha1(seed.encode()).digest()
    top = (40 + digest[0] % 160, 40 + digest[1] % 160, 40 + digest[2] % 160)
    bottom = (digest[3] % 60, digest[4] % 60, digest[5] % 60)
    return top, bottom


@lru_cache(maxsize=512)
def render(seed: str, width: int, height: int, fmt: str = "JPEG") -> bytes:
    """A deterministic gradient with a band and a mark, `width` x `height` pixels."""
    width = max(1, min(width, MAX_SIDE))
    height = max(1, min(height, MAX_SIDE))
    top, bottom = _colours(seed)
    image = Image.new("RGB", (width, height), top)
    draw = ImageDraw.Draw(image)
    steps = min(height, 64)
    for step in range(steps):
        blend = step / max(steps - 1, 1)
        colour = tuple(int(t + (b - t) * blend) for t, b in zip(top, bottom, strict=True))
        y0 = height * step // steps
        y1 = height * (step + 1) // steps
        draw.rectangle((0, y0, width, y1), fill=colour)
    band = max(1, height // 8)
    draw.rectangle((0, height - 2 * band, width, height - band), fill=(230, 230, 230))
    draw.ellipse(
        (width // 4, height // 4, 3 * width // 4, height // 4 + width // 2), outline=(255, 255, 255)
    )
    out = io.BytesIO()
    image.save(out, fmt, quality=80) if fmt == "JPEG" else image.save(out, fmt)
    return out.getvalue()
