"""MediaContainer to the wire: JSON when asked (`Accept: application/json`), XML otherwise.

JSON: one key, `MediaContainer`; attributes typed; children in arrays (`Directory`, `Metadata`,
`Hub`); an empty array is omitted. XML: attributes as strings, booleans as 1/0, each item under
its real tag (`Video` for movies and episodes, `Directory` for shows, seasons, artists, albums
and collections, `Track` for tracks).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

_ITEM_TAGS = {
    "movie": "Video",
    "episode": "Video",
    "clip": "Video",
    "track": "Track",
    "photo": "Photo",
}
# Plex's own error pages: status first, never JSON, even when JSON was asked for.
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def html_body(status: int) -> bytes:
    reason = _REASONS.get(status, "Error")
    head = f"<html><head><title>{reason}</title></head>"
    return f"{head}<body><h1>{status} {reason}</h1></body></html>".encode()


def container(attributes: dict[str, Any], **children: list[dict[str, Any]]) -> dict[str, Any]:
    """A MediaContainer dict: `size` first, then attributes, then non-empty child arrays."""
    body: dict[str, Any] = {"size": len(next(iter(children.values()), []) if children else [])}
    body.update(attributes)
    for name, entries in children.items():
        if entries:
            body[name] = entries
    return {"MediaContainer": body}


def to_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _attr(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def _element(tag: str, data: dict[str, Any]) -> ET.Element:
    element = ET.Element(tag)
    for name, value in data.items():
        if isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    element.append(_child(name, entry))
        elif isinstance(value, dict):
            element.append(_child(name, value))  # `Meta`, or a SearchResult's one `Metadata`
        elif value is not None:
            element.set(name, _attr(value))
    return element


def _child(array_name: str, entry: dict[str, Any]) -> ET.Element:
    if array_name == "Metadata":
        kind = entry.get("type", "")
        return _element(_ITEM_TAGS.get(kind, "Directory"), entry)
    return _element(array_name, entry)


def to_xml(document: dict[str, Any]) -> bytes:
    root = _element("MediaContainer", document["MediaContainer"])
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + ET.tostring(root, encoding="utf-8", xml_declaration=False)
        + b"\n"
    )
