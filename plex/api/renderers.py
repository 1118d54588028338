"""JSON rendered once per cached answer.

A warm answer is the same decoded value on every hit (plex/cache.py's `Recall`), so the data a
view builds from it (`remember`) and the JSON bytes of that data (`JSONRenderer`) are kept with
it. The bytes are DRF's own JSONRenderer's, made the first time: byte for byte what every later
request would have rendered. Only plain JSON is kept: `indent` (asked for in Accept, or by the
browsable API) renders anew.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from django.urls import get_script_prefix
from rest_framework import renderers

from plex.cache import Cached

T = TypeVar("T")


class RememberedDict(dict[str, Any]):
    """API data kept with a cached answer, and its JSON once rendered. Read-only."""

    __slots__ = ("json",)

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.json: bytes | None = None


class RememberedList(list[Any]):
    """API data kept with a cached answer, and its JSON once rendered. Read-only."""

    __slots__ = ("json",)

    def __init__(self, data: list[Any]) -> None:
        super().__init__(data)
        self.json: bytes | None = None


def remember(result: Cached[T], make: Callable[..., Any], *args: Hashable) -> Any:
    """`make(result.value, *args)` as data the renderer knows to render once, made once while
    this process keeps the answer decoded (`Cached.remember`). `args` must be all the data
    depends on besides the value; the script prefix (in every image URL) is added here."""
    return result.remember(_remembered, make, get_script_prefix(), *args)


def _remembered(value: Any, make: Callable[..., Any], prefix: str, *args: Any) -> Any:
    made = make(value, *args)
    if isinstance(made, dict):
        return RememberedDict(made)
    if isinstance(made, list):
        return RememberedList(made)
    return made


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON, rendered once for remembered data (`remember`)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        remembered = isinstance(data, RememberedDict | RememberedList)
        if not remembered or self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        if data.json is None:
            # Two threads at once may both render it: the same bytes, and either is kept.
            data.json = super().render(data, accepted_media_type, renderer_context)
        return data.json
