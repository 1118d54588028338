"""Recently added, on deck, hubs and search, as real servers group them.

Evidence: plex-samples `json/hubs_home_get-recently-added.*.json` (type=2 mixes episodes, seasons
and shows; a season entry carries parentTitle, leafCount, viewedLeafCount, librarySection*),
`xml/hubs.xml` (home hubs), `xml/hubs_library_section.xml` (section hubs container),
`xml/empty_library.xml` (onDeck container), `json/library_get-search-library.*.json`
(`SearchResult[]` with float `score`; people as `Directory` of `type="tag"` with `tagType`,
`count`, `librarySection*`), and the spec's /hubs/search description (`reason`, `reasonTitle`,
`reasonID` on related hits; hubs ordered by the quality of their results).
"""

from __future__ import annotations

from typing import Any

from .browse import TYPE_NUMBERS, fold, listed
from .library import PEOPLE, TAG_FILTERS, Library, Section
from .watch import VIDEO_TYPES, WatchState

# tagType of each tag array (python-plexapi's TAGTYPES; the real /library/search sample has
# actor 6 and director 4).
TAG_TYPES = {"Genre": 1, "Director": 4, "Writer": 5, "Role": 6, "Country": 8}
SECTION_TYPE_NUMBERS = {"movie": 1, "show": 2, "artist": 8}
MEDIA_HUBS = (
    ("movie", "Movies"),
    ("show", "Shows"),
    ("season", "Seasons"),
    ("episode", "Episodes"),
    ("artist", "Artists"),
    ("album", "Albums"),
    ("track", "Tracks"),
    ("collection", "Collections"),
)
# Tag hubs of /hubs/search: hub type, title, tag array.
TAG_HUBS = (
    ("actor", "Actors", "Role"),
    ("director", "Directors", "Director"),
    ("genre", "Genres", "Genre"),
)
CONTAINER = {
    "allowSync": True,
    "identifier": "com.plexapp.plugins.library",
    "mediaTagPrefix": "/system/bundle/media/flags/",
    "mediaTagVersion": 1_734_362_201,
}


def _visible(library: Library, owner: bool, section: Section | None) -> set[str]:
    keys = {s.key for s in library.visible_sections(owner)}
    return keys & {section.key} if section is not None else keys


def _season_entry(library: Library, season: dict[str, Any], added: int) -> dict[str, Any]:
    show = library.by_key[season["parentRatingKey"]]
    entry = dict(season)
    entry.update(
        {
            "addedAt": added,
            "art": show["art"],
            "parentYear": show.get("year"),
            "parentStudio": show.get("studio"),
        }
    )
    return entry


def recently_added(
    library: Library, owner: bool, section: Section | None, level: int | None
) -> list[dict[str, Any]]:
    """/library/recentlyAdded: movies, TV as seasons (at their newest episode's addedAt),
    music as albums; `type=N` picks one kind (type=4 episodes, type=3 seasons)."""
    visible = _visible(library, owner, section)
    pool = library.recent_episodes if level == 4 else library.recent
    kinds = None
    if level:
        kinds = {1: {"movie"}, 2: {"season"}, 3: {"season"}, 4: {"episode"}}.get(
            level, {"album"} if level in {8, 9, 10} else {""}
        )
    entries = []
    for item in pool:
        if library.section_of[item["ratingKey"]] not in visible:
            continue
        if kinds is not None and item["type"] not in kinds:
            continue
        if item["type"] == "season":
            entries.append(_season_entry(library, item, library.added_at(item)))
        else:
            entries.append(listed(item))
    return entries


def home_recently_added(
    library: Library, owner: bool, level: int | None, section_id: str | None
) -> list[dict[str, Any]]:
    """/hubs/home/recentlyAdded?type=N. type=2 mixes episodes, seasons and shows as the real
    sample does: walking the newest episodes first, a run of consecutive episodes of one
    season becomes its season, a run across seasons of one show becomes the show, and a lone
    episode stays an episode (each season or show listed once, at its newest addition)."""
    section = library.sections.get(section_id or "")
    if section_id and (section is None or not (owner or section.shared)):
        return []
    if level not in {2, 3, 4}:
        kinds = {1: "movie", 8: "album", 9: "album", 10: "album"}.get(level or 0)
        every = recently_added(library, owner, section, None)
        return [e for e in every if kinds is None or e["type"] == kinds]
    visible = _visible(library, owner, section)
    episodes = [e for e in library.recent_episodes if library.section_of[e["ratingKey"]] in visible]
    runs: list[list[dict[str, Any]]] = []
    for episode in episodes:
        if runs and runs[-1][0]["grandparentRatingKey"] == episode["grandparentRatingKey"]:
            runs[-1].append(episode)
        else:
            runs.append([episode])
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for run in runs:
        seasons = {e["parentRatingKey"] for e in run}
        newest = run[0]["addedAt"]
        if len(run) == 1:
            key, entry = run[0]["ratingKey"], listed(run[0])
        elif len(seasons) == 1:
            key = run[0]["parentRatingKey"]
            entry = _season_entry(library, library.by_key[key], newest)
        else:
            key = run[0]["grandparentRatingKey"]
            entry = {**listed(library.by_key[key]), "addedAt": newest}
        if key in seen:
            continue
        seen.add(key)
        entries.append(entry)
    return entries


def on_deck(
    library: Library, owner: bool, section: Section | None, watch: WatchState | None
) -> list[dict[str, Any]]:
    """One account's on deck (and continue watching): its part-watched movies and episodes
    (a `viewOffset`), and for a show it is watching with nothing in progress the unplayed
    episode after its most recently played one; the most recent activity (`lastViewedAt`)
    first, one entry per show. Reads only the account's overlay, never the whole library."""
    if watch is None:
        return []
    visible = _visible(library, owner, section)
    states, started, totals = watch.snapshot()
    found: list[tuple[int, dict[str, Any]]] = []
    busy: set[str] = set()  # shows with an episode in progress
    for key in started:
        item = library.by_key.get(key)  # None: removed from the library (a control endpoint)
        if item is None or item["type"] not in VIDEO_TYPES:
            continue
        if library.section_of.get(key) not in visible:
            continue
        found.append((states[key]["lastViewedAt"], item))
        if item["type"] == "episode":
            busy.add(item["grandparentRatingKey"])
    for key, (viewed, _, last) in totals.items():
        show = library.by_key[key]
        if show["type"] != "show" or key in busy or library.section_of[key] not in visible:
            continue
        if not 0 < viewed < show.get("leafCount", 0):
            continue
        episodes = watch.leaves(key)
        played = [
            i for i, e in enumerate(episodes) if "viewCount" in states.get(e["ratingKey"], {})
        ]
        latest = max(played, key=lambda i: (states[episodes[i]["ratingKey"]]["lastViewedAt"], i))
        following = [
            e for e in episodes[latest + 1 :] if "viewCount" not in states.get(e["ratingKey"], {})
        ]
        if following:
            found.append((last, following[0]))
    found.sort(key=lambda pair: (-pair[0], int(pair[1]["ratingKey"])))
    shows: set[str] = set()  # one entry per show: its most recently watched episode
    deck = []
    for _, item in found:
        show_key = item.get("grandparentRatingKey")
        if show_key is not None and show_key in shows:
            continue
        if show_key is not None:
            shows.add(show_key)
        deck.append(listed(item))
    return deck


def _hub(
    identifier: str,
    title: str,
    kind: str,
    key: str,
    entries: list[dict[str, Any]],
    count: int,
    *,
    context: str | None = None,
    style: str = "shelf",
    promoted: bool | None = None,
) -> dict[str, Any]:
    shown = entries[:count]
    hub: dict[str, Any] = {}
    if shown:
        hub["hubKey"] = "/library/metadata/" + ",".join(e["ratingKey"] for e in shown)
    hub.update(
        {
            "key": key,
            "title": title,
            "type": kind,
            "hubIdentifier": identifier,
            "context": context or f"hub.{identifier}",
            "size": len(shown),
            "more": len(entries) > count,
            "style": style,
        }
    )
    if promoted is not None:
        hub["promoted"] = promoted
    if shown:
        hub["Metadata"] = shown
    return hub


def home_hubs(
    library: Library, owner: bool, count: int, watch: WatchState | None = None
) -> list[dict[str, Any]]:
    """/hubs: Continue Watching, then Recently Added per media kind, then On Deck (xml/hubs.xml:
    `home.continue` is `mixed`, `hero` and promoted; `home.music.recent` is `?type=8`)."""
    kinds = {s.type for s in library.visible_sections(owner)}
    deck = on_deck(library, owner, None, watch)
    hubs = [
        _hub(
            "home.continue",
            "Continue Watching",
            "mixed",
            "/hubs/home/continueWatching",
            deck,
            count,
            style="hero",
            promoted=True,
        )
    ]
    for section_type, level, identifier, title, kind in (
        ("movie", 1, "home.movies.recent", "Recently Added Movies", "movie"),
        ("show", 2, "home.television.recent", "Recently Added TV", "mixed"),
        ("artist", 8, "home.music.recent", "Recently Added Music", "album"),
    ):
        if section_type in kinds:
            entries = home_recently_added(library, owner, level, None)
            hubs.append(
                _hub(
                    identifier,
                    title,
                    kind,
                    f"/hubs/home/recentlyAdded?type={level}",
                    entries,
                    count,
                    promoted=True,
                )
            )
    hubs.append(
        _hub("home.ondeck", "On Deck", "mixed", "/hubs/home/onDeck", deck, count, promoted=True)
    )
    return hubs


def section_hubs(
    library: Library, owner: bool, section: Section, count: int, watch: WatchState | None = None
) -> list[dict[str, Any]]:
    """/hubs/sections/{key}: the section's own shelves (identifiers such as
    `movie.recentlyadded.1`, contexts `hub.movie.recentlyadded`, as real section hubs name
    them; the Music section's Stations hub of the real sample is not emulated)."""
    base = f"/library/sections/{section.key}"
    prefix = {"movie": "movie", "show": "tv", "artist": "music"}[section.type]
    deck = on_deck(library, owner, section, watch)
    recent = home_recently_added(
        library,
        owner,
        SECTION_TYPE_NUMBERS[section.type] if section.type != "artist" else 9,
        section.key,
    )
    hubs = []
    if section.type != "artist":
        hubs.append(
            _hub(
                f"{prefix}.inprogress.{section.key}",
                "Continue Watching",
                "mixed" if section.type == "show" else section.type,
                f"/hubs/sections/{section.key}/continueWatching/items",
                deck,
                count,
                context=f"hub.{prefix}.inprogress",
            )
        )
    hubs.append(
        _hub(
            f"{prefix}.recentlyadded.{section.key}",
            "Recently Added " + {"movie": "Movies", "show": "TV", "artist": "Music"}[section.type],
            {"movie": "movie", "show": "mixed", "artist": "album"}[section.type],
            f"{base}/recentlyAdded",
            recent,
            count,
            context=f"hub.{prefix}.recentlyadded",
        )
    )
    if section.type == "show":
        hubs.append(
            _hub(
                f"{prefix}.ondeck.{section.key}",
                "On Deck",
                "episode",
                f"{base}/onDeck",
                deck,
                count,
                context=f"hub.{prefix}.ondeck",
            )
        )
    return hubs


# -- search ----------------------------------------------------------------------------------


def title_score(folded_title: str, needle: str) -> float | None:
    position = folded_title.find(needle)
    if position < 0:
        return None
    if folded_title == needle:
        return 1.0
    if position == 0:
        return 0.9
    return round(0.8 - min(position, 60) / 100, 5)


def tag_matches(
    library: Library, needle: str, visible: set[str]
) -> list[tuple[float, str, dict[str, Any]]]:
    """People and genres whose name matches, one `Directory` per tag and section, as the real
    /library/search answer lists them (`key` filters the section by the tag, `count` items)."""
    counts: dict[tuple[str, str, str], int] = {}
    for key, item in library.by_key.items():
        section_key = library.section_of[key]
        if section_key not in visible or item["type"] not in {"movie", "show", "artist"}:
            continue
        for array, _, _ in ((a, h, t) for h, t, a in TAG_HUBS):
            for tag in item.get(array, ()):
                if needle in fold(tag["tag"]):
                    counts[(array, tag["tag"], section_key)] = (
                        counts.get((array, tag["tag"], section_key), 0) + 1
                    )
    found = []
    for (array, value, section_key), count in counts.items():
        section = library.sections[section_key]
        tag_id = library.tags[(array, value)]
        filter_name = TAG_FILTERS[array]
        entry: dict[str, Any] = {
            "key": f"/library/sections/{section_key}/all?{filter_name}={tag_id}",
            "librarySectionID": int(section_key),
            "librarySectionKey": f"/library/sections/{section_key}",
            "librarySectionTitle": section.title,
            "librarySectionType": SECTION_TYPE_NUMBERS[section.type],
            "type": "tag",
            "id": tag_id,
            "filter": f"{filter_name}={tag_id}",
            "tag": value,
            "tagType": TAG_TYPES[array],
        }
        if array in PEOPLE:
            entry["tagKey"] = library.tag_keys[value]
        entry["count"] = count
        score = title_score(fold(value), needle) or 0.0
        found.append((score, array, entry))
    found.sort(key=lambda t: (-t[0], fold(t[2]["tag"]), t[2]["librarySectionID"]))
    return found


def search_hubs(
    library: Library,
    matches: list[tuple[float, dict[str, Any]]],
    needle: str,
    visible: set[str],
    limit: int,
) -> list[dict[str, Any]]:
    """Typed hubs: titles that match, then tag hubs (Actors, Directors, Genres: `Directory`
    entries), and in the movie and show hubs, after the direct hits, the items of a matched
    person or genre with `reason` (the tag hub), `reasonTitle` (the tag) and `reasonID` (its
    id); albums of a matched artist come with reason `artist`. Hubs with results come first,
    by their best score; empty hubs are still listed, as real servers do."""
    by_kind: dict[str, list[tuple[float, dict[str, Any]]]] = {kind: [] for kind, _ in MEDIA_HUBS}
    listed_keys: set[str] = set()
    for score, item in matches:
        by_kind[item["type"]].append((score, {**listed(item), "score": score}))
        listed_keys.add(item["ratingKey"])
    tags = tag_matches(library, needle, visible)
    for score, array, entry in tags:
        related_score = round(score * 0.5, 5)
        hub_type = next(h for h, _, a in TAG_HUBS if a == array)
        for item in library.sections[str(entry["librarySectionID"])].items:
            if item["ratingKey"] in listed_keys or item["type"] not in by_kind:
                continue
            if any(tag.get("id") == entry["id"] for tag in item.get(array, ())):
                listed_keys.add(item["ratingKey"])
                by_kind[item["type"]].append(
                    (
                        related_score,
                        {
                            **listed(item),
                            "score": related_score,
                            "reason": hub_type,
                            "reasonTitle": entry["tag"],
                            "reasonID": entry["id"],
                        },
                    )
                )
    for score, artist in [(s, i) for s, i in matches if i["type"] == "artist"]:
        for album in library.children_of.get(artist["ratingKey"], []):
            if album["ratingKey"] in listed_keys:
                continue
            listed_keys.add(album["ratingKey"])
            related = round(score * 0.5, 5)
            by_kind["album"].append(
                (
                    related,
                    {
                        **listed(album),
                        "score": related,
                        "reason": "artist",
                        "reasonTitle": artist["title"],
                        "reasonID": int(artist["ratingKey"]),
                    },
                )
            )
    hubs: list[tuple[float, int, dict[str, Any]]] = []
    for order, (kind, title) in enumerate(MEDIA_HUBS):
        found = sorted(by_kind[kind], key=lambda pair: -pair[0])
        entries = [entry for _, entry in found]
        hub = _search_hub(kind, title, entries, limit, "Metadata")
        hubs.append((found[0][0] if found else -1.0, order, hub))
    for order, (kind, title, array) in enumerate(TAG_HUBS, start=len(MEDIA_HUBS)):
        entries = [{**entry, "score": score} for score, a, entry in tags if a == array]
        hub = _search_hub(kind, title, entries, limit, "Directory")
        hubs.append((entries[0]["score"] if entries else -1.0, order, hub))
    hubs.sort(key=lambda t: (-t[0], t[1]))
    return [hub for _, _, hub in hubs]


def _search_hub(
    kind: str, title: str, entries: list[dict[str, Any]], limit: int, array: str
) -> dict[str, Any]:
    hub: dict[str, Any] = {
        "title": title,
        "type": kind,
        "hubIdentifier": kind,
        "context": f"hub.{kind}",
        "size": min(len(entries), limit),
        "more": len(entries) > limit,
        "style": "shelf",
    }
    if entries[:limit]:
        hub[array] = entries[:limit]
    return hub


def library_search(
    library: Library,
    matches: list[tuple[float, dict[str, Any]]],
    needle: str,
    visible: set[str],
    limit: int,
) -> list[dict[str, Any]]:
    """/library/search: a flat `SearchResult[]`, each `{score, Metadata}` or, for people,
    `{score, Directory}` (json/library_get-search-library.*.json)."""
    results: list[tuple[float, dict[str, Any]]] = [
        (score, {"score": score, "Metadata": listed(item)}) for score, item in matches
    ]
    results += [
        (score, {"score": score, "Directory": entry})
        for score, array, entry in tag_matches(library, needle, visible)
        if array in PEOPLE
    ]
    results.sort(key=lambda pair: -pair[0])
    return [result for _, result in results[:limit]]


__all__ = [
    "TYPE_NUMBERS",
    "home_hubs",
    "home_recently_added",
    "library_search",
    "on_deck",
    "recently_added",
    "search_hubs",
    "section_hubs",
]
