"""Image bytes from Plex, checked before anyone sees or keeps them: what the bytes are decides
the Content-Type (never what Plex labelled them), and an image must decode whole."""

from __future__ import annotations

import io
import warnings

from PIL import Image as PILImage

# Formats a browser shows in <img>, by their first bytes. SVG is not among them: it is a
# document that can carry script, whatever the label says.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# Far above any poster or art MediaNest asks for (2000 px wide), far below a decompression bomb.
MAX_PIXELS = 4000 * 6000


class NotAnImage(ValueError):
    """The bytes are not a whole JPEG, PNG, GIF or WebP image."""


def sniff(content: bytes) -> str | None:
    """The image type the bytes are, by their signature; None for anything else."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def checked_type(content: bytes) -> str:
    """The Content-Type to serve these bytes with, once they decode whole; NotAnImage if not."""
    content_type = sniff(content)
    if content_type is None:
        raise NotAnImage("not a JPEG, PNG, GIF or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            _decode(content, _PIL_FORMATS[content_type])
    # What Pillow raises for broken or hostile data.
    except (
        OSError,
        SyntaxError,
        ValueError,
        PILImage.DecompressionBombError,
        PILImage.DecompressionBombWarning,
    ) as exc:
        if isinstance(exc, NotAnImage):
            raise
        raise NotAnImage(f"does not decode whole ({exc})") from None
    return content_type


def _decode(content: bytes, pil_format: str) -> None:
    with PILImage.open(io.BytesIO(content), formats=[pil_format]) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise NotAnImage(f"{width}x{height} pixels is too large")
        if image.format == "JPEG":
            # verify() does not read a JPEG's scan data, so half a JPEG passes it; decoding
            # does not. At 1/8 scale (draft) that costs a couple of milliseconds.
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        image.load()
