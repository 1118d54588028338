"""Links out of MediaNest to Plex's own apps: never a server address, never a token."""

from __future__ import annotations

import re
from urllib.parse import quote

PLEX_WEB = "https://app.plex.tv/desktop/"
_KEY = re.compile(r"[0-9]{1,20}")  # ASCII digits only, as every key MediaNest passes on


def play_url(machine_identifier: str, rating_key: str) -> str | None:
    """Plex Web's page for an item on this server, where the user plays it with their own
    account (Plex picks the way to reach the server). None when either part is unknown."""
    if not machine_identifier or not _KEY.fullmatch(rating_key):
        return None
    server = quote(machine_identifier, safe="")
    return f"{PLEX_WEB}#!/server/{server}/details?key=%2Flibrary%2Fmetadata%2F{rating_key}"
