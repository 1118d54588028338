"""Plex's XML answers, read into the dict its JSON answers hold.

A Plex Media Server answers XML unless asked for JSON, and some servers and reverse proxies (one
that drops `Accept`) answer XML whatever was asked. `media_container` turns such a body into the
`MediaContainer` dict that the JSON form holds, so the rest of the client reads one shape
(docs/plex-api.md, Formats):

- Attributes become keys. XML attributes are all strings; those that Plex's JSON types as
  numbers or booleans are converted, the rest (`ratingKey`, a section's `key`, `title`, `tag`)
  stay strings, as in JSON.
- Children become arrays named as in JSON. Every media item is `Metadata`, whatever its XML tag
  (`<Video>`, `<Track>`, `<Photo>`, `<Playlist>`, a `<Directory>` with a `ratingKey`); every
  other child keeps its tag (`Directory`, `Hub`, `Genre`, `Role`, `Media`, `Part`, `Stream`,
  `Type`, `Sort`, `FieldType`...). The few children JSON holds as one object, not an array
  (`Meta`, `Extras`, `UltraBlurColors`...), are one object.

Parsing is pyexpat with any DTD refused: a body with a `<!DOCTYPE>` (the only place entities can
be declared) never gets past its first line, so neither entity expansion (billion laughs) nor
external entities can happen. Messages name the server, never the body, which may carry a token.
"""

from __future__ import annotations

import codecs
import re
from typing import Any
from xml.parsers import expat

from .errors import PlexBadResponse

# Tags that are always media items: `Metadata` in JSON [plexapi: Movie/Episode/Clip are
# <Video>, Track is <Track>, Photo is <Photo>, Playlist is <Playlist>; spec: Hub.Metadata
# holds playlists with type "playlist"].
_ITEM_TAGS = frozenset({"Video", "Track", "Photo", "Playlist"})

# Children that JSON holds as one object, not an array [spec: the recorded JSON examples hold
# MediaContainer.Meta, Metadata.Extras, Metadata.UltraBlurColors as objects; plexapi reads
# <Related><Hub> and <OnDeck><Video> as one wrapper each].
_SINGLE = frozenset({"Meta", "Extras", "Related", "OnDeck", "UltraBlurColors"})
# ...and those that are one object only under a given parent [spec: Marker.Attributes; a
# session's Metadata.User/Player/Session/TranscodeSession; SearchResult.Metadata/Directory].
_SINGLE_UNDER = {
    "Marker": frozenset({"Attributes"}),
    "Metadata": frozenset({"User", "Player", "Session", "TranscodeSession"}),
    "SearchResult": frozenset({"Metadata", "Directory"}),
}

# Attributes Plex's JSON types as integers, floats and booleans: every non-string value in the
# spec's recorded JSON responses (library, metadata, hubs; plex-samples/json), plus the server
# root's flags. An XML value that does not read as the type stays a string, as in JSON where a
# few of these are strings elsewhere (`content="secondary"`, `default="asc"`, Guid `id`).
_INTS = frozenset(
    {
        "addedAt", "audioChannels", "bitDepth", "bitrate", "channels", "childCount",
        "codedHeight", "codedWidth", "contentChangedAt", "count", "createdAt", "displayOffset",
        "DOVIBLCompatID", "DOVILevel", "DOVIProfile", "duration", "endTimeOffset", "height",
        "hidden", "id", "index", "lastRatedAt", "lastViewedAt", "leafCount", "level",
        "librarySectionID", "librarySectionType", "livetv", "mediaTagVersion", "musicAnalysis",
        "offlineTranscode", "offset", "packetLength", "parentIndex", "parentYear", "ratingCount",
        "refFrames", "samplingRate", "scannedAt", "seasonCount", "size", "skipCount",
        "startTimeOffset", "streamingBrainABRVersion", "streamingBrainVersion", "streamType",
        "tagType", "totalSize", "transcoderActiveVideoSessions", "updatedAt", "viewCount",
        "viewedLeafCount", "viewOffset", "width", "year",
    }
)  # fmt: skip
_FLOATS = frozenset(
    {"aspectRatio", "audienceRating", "frameRate", "rating", "score", "userRating", "value"}
)
_BOOLS = frozenset(
    {
        "accessible", "active", "advanced", "allowCameraUpload", "allowChannelAccess",
        "allowMediaDeletion", "allowSharing", "allowSync", "allowTuners", "backgroundProcessing",
        "canAutoSync", "certificate", "claimed", "closedCaptions", "companionProxy", "content",
        "default", "directory", "DOVIBLPresent", "DOVIELPresent", "DOVIPresent",
        "DOVIRPUPresent", "dub", "eventStream", "exists", "filters", "final", "forced",
        "has64bitOffsets", "hasScalingMatrix", "hasVoiceActivity", "headerCompression",
        "hearingImpaired", "hubSearch", "itemClusters", "mediaProviders", "more", "multiuser",
        "myPlex", "myPlexSubscription", "nocache", "optimizedForStreaming", "original",
        "pluginHost", "promoted", "pushNotifications", "radio", "random", "readOnlyLibraries",
        "refreshing", "search", "secondary", "selected", "skipChildren", "smart", "sortAsc",
        "sync", "transcoderAudio", "transcoderLyrics", "transcoderPhoto", "transcoderSubtitles",
        "transcoderVideo", "updater", "voiceSearch",
    }
)  # fmt: skip
_INT = re.compile(r"-?[0-9]{1,20}")  # ASCII digits only, as client._DIGITS
_FLOAT = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")


# A real answer nests about six levels (MediaContainer > Hub > Metadata > Media > Part >
# Stream). Far deeper is hostile, and would fail later, when the answer is pickled for the cache.
MAX_DEPTH = 64


class _Refused(Exception):
    """Raised inside expat's callbacks to stop the parse; turned into PlexBadResponse."""


def is_xml(body: bytes) -> bool:
    """Whether `body` is XML rather than JSON, by its first character after any BOM and
    whitespace, never by its Content-Type: proxies mislabel."""
    return body.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<")


def media_container(body: bytes, server: str) -> dict[str, Any]:
    """The `MediaContainer` of an XML answer, as the JSON answer would hold it.

    Raises PlexBadResponse for a body that is not well-formed XML, that has a DTD, or whose root
    is not `<MediaContainer>`. `server` (host:port) names the server in the message.
    """
    # A BOM is harmless to expat, but whitespace before `<?xml ...?>` is an error to it.
    body = body.removeprefix(codecs.BOM_UTF8).lstrip()
    builder = _Builder()
    parser = expat.ParserCreate()
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.StartDoctypeDeclHandler = _refuse_doctype
    # Belt and braces: entities can only be declared inside a DOCTYPE, refused above.
    parser.EntityDeclHandler = _refuse_entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(body, True)
    except _Refused as refused:
        raise PlexBadResponse(f"Plex at {server} sent {refused}") from None
    except expat.ExpatError as exc:
        # ErrorString is expat's fixed text ("not well-formed (invalid token)"), never the body.
        raise PlexBadResponse(
            f"Plex at {server} sent something that is not JSON or well-formed XML "
            f"({expat.ErrorString(exc.code)}, line {exc.lineno}, column {exc.offset})."
        ) from None
    if builder.root is None:  # unreachable after a successful parse, which needs a root
        raise PlexBadResponse(f"Plex at {server} sent XML without a MediaContainer.")
    return builder.root


def _refuse_doctype(*_: Any) -> None:
    raise _Refused(
        "XML with a document type declaration (<!DOCTYPE>), which MediaNest refuses: Plex "
        "sends none, and it is how entity attacks start."
    )


def _refuse_entity(*_: Any) -> None:
    raise _Refused("XML with an entity declaration, which MediaNest refuses.")


def _value(name: str, text: str) -> Any:
    if name in _INTS and _INT.fullmatch(text):
        return int(text)
    if name in _FLOATS and _FLOAT.fullmatch(text):
        return float(text)
    if name in _BOOLS and text in {"0", "1"}:
        return text == "1"
    return text


def _json_name(tag: str, attrs: dict[str, str]) -> str:
    """The JSON array an element goes in: `Metadata` for a media item, else its own tag."""
    if tag in _ITEM_TAGS:
        return "Metadata"
    # Shows, seasons, artists, albums, photo albums and collections are <Directory> in XML.
    # Media items carry a ratingKey; sections, sorts, filters, the root's folders and a search
    # hub's tags (genres, people) do not, and stay `Directory` in JSON too. The "All episodes"
    # pseudo-season has no ratingKey but is a Metadata entry in JSON (as in plex_emulator).
    if tag == "Directory" and ("ratingKey" in attrs or attrs.get("key", "").endswith("/allLeaves")):
        return "Metadata"
    return tag


class _Builder:
    """expat callbacks that build the dicts as elements close: no tree, no second pass."""

    def __init__(self) -> None:
        self.root: dict[str, Any] | None = None
        # (JSON name, dict) of each open element, the root first.
        self._open: list[tuple[str, dict[str, Any]]] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self._open) >= MAX_DEPTH:
            raise _Refused(f"XML nested more than {MAX_DEPTH} levels deep.")
        if not self._open and tag != "MediaContainer":
            # The root tag is not named in the message: it is part of the body.
            raise _Refused("something that is not JSON or a Plex MediaContainer (other XML).")
        name = "MediaContainer" if not self._open else _json_name(tag, attrs)
        node = {key: _value(key, text) for key, text in attrs.items()}
        if self._open:
            parent_name, parent = self._open[-1]
            if name in _SINGLE or name in _SINGLE_UNDER.get(parent_name, ()):
                parent[name] = node
            else:
                entries = parent.get(name)
                if not isinstance(entries, list):  # a same-named attribute yields to children
                    entries = parent[name] = []
                entries.append(node)
        else:
            self.root = node
        self._open.append((name, node))

    def end(self, tag: str) -> None:
        self._open.pop()
