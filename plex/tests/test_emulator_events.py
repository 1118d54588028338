"""The emulator's notification stream (WebSocket and EventSource) and its library changing on
command, read by real clients: python-plexapi's AlertListener, websocket-client, requests."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import websocket
from plexapi.server import PlexServer

from plex_emulator import Emulator

TIMEOUT = 10
WAIT = 5.0


def _wait(predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {predicate}")


def _get(emulator: Emulator, path: str, token: str | None = None, **params: Any) -> Any:
    return requests.get(
        f"{emulator.url}{path}",
        headers={"Accept": "application/json", "X-Plex-Token": token or emulator.owner_token},
        params=params,
        timeout=TIMEOUT,
    )


def _add(emulator: Emulator, title: str, section: str = "1", year: int = 2026) -> str:
    response = requests.post(
        f"{emulator.url}/__emulator__/library/items",
        json={"section": section, "title": title, "year": year},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["ratingKey"])


def _remove(emulator: Emulator, rating_key: str) -> requests.Response:
    return requests.delete(
        f"{emulator.url}/__emulator__/library/items/{rating_key}", timeout=TIMEOUT
    )


def _play(emulator: Emulator, **payload: Any) -> requests.Response:
    return requests.post(f"{emulator.url}/__emulator__/play", json=payload, timeout=TIMEOUT)


def _timeline(messages: list[dict[str, Any]], rating_key: str) -> list[dict[str, Any]]:
    return [
        entry
        for message in messages
        if message["type"] == "timeline"
        for entry in message["TimelineEntry"]
        if entry["itemID"] == rating_key
    ]


class EventSource:
    """An EventSource client over requests: (event, NotificationContainer) pairs, comments."""

    def __init__(self, emulator: Emulator, token: str | None = None, **params: str) -> None:
        self.response = requests.get(
            f"{emulator.url}/:/eventsource/notifications",
            params={"X-Plex-Token": token or emulator.owner_token, **params},
            stream=True,
            timeout=TIMEOUT,
        )
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.comments: list[str] = []
        self.ended = threading.Event()
        self.error: Exception | None = None
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event = ""
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = json.loads(line.removeprefix("data: "))["NotificationContainer"]
                    self.events.append((event, data))
        except Exception as exc:  # the server dropped the stream
            self.error = exc
        finally:
            self.ended.set()

    def messages(self) -> list[dict[str, Any]]:
        return [data for _, data in self.events]

    def close(self) -> None:
        # Another thread is blocked reading: shut the socket down so the close is real now,
        # not after the server's next write.
        connection = getattr(self.response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()


@pytest.fixture
def owner_server(emulator: Emulator) -> Iterator[PlexServer]:
    with requests.Session() as session:
        yield PlexServer(emulator.url, emulator.owner_token, session=session, timeout=TIMEOUT)


@pytest.fixture
def alerts(emulator: Emulator, owner_server: PlexServer) -> Iterator[list[dict[str, Any]]]:
    """python-plexapi's AlertListener on the owner's server, connected: what it received."""
    received: list[dict[str, Any]] = []
    before = emulator.events_connected()
    listener = owner_server.startAlertListener(received.append)
    try:
        _wait(lambda: emulator.events_connected() > before)
        yield received
    finally:
        listener.stop()
        _wait(lambda: emulator.events_connected() <= before)


@pytest.fixture
def stream(emulator: Emulator) -> Iterator[EventSource]:
    before = emulator.events_connected()
    source = EventSource(emulator)
    assert source.response.status_code == 200
    assert source.response.headers["Content-Type"] == "text/event-stream"
    try:
        _wait(lambda: emulator.events_connected() > before)
        yield source
    finally:
        source.close()
        _wait(lambda: emulator.events_connected() <= before)


def _ws_connect(emulator: Emulator, token: str, path: str = "/:/websockets/notifications") -> Any:
    return websocket.create_connection(
        f"ws://{emulator.host}:{emulator.port}{path}?X-Plex-Token={token}", timeout=TIMEOUT
    )


# -- notifications ----------------------------------------------------------------------------


def test_alert_listener_gets_timeline_of_an_added_and_a_removed_movie(
    emulator: Emulator, alerts: list[dict[str, Any]]
) -> None:
    rating_key = _add(emulator, "Quokka Parade")
    entries = _wait(
        lambda: len(_timeline(alerts, rating_key)) >= 4 and _timeline(alerts, rating_key)
    )
    # A scan's sequence: created, downloading metadata, processing, done (no metadataState).
    assert [e["state"] for e in entries] == [0, 3, 4, 5]
    assert [e.get("metadataState") for e in entries] == ["created", "loading", "processing", None]
    for entry in entries:
        assert entry["identifier"] == "com.plexapp.plugins.library"
        assert entry["sectionID"] == "1"
        assert entry["type"] == 1
        assert entry["title"] == "Quokka Parade"
        assert isinstance(entry["updatedAt"], int)
    # The scan's status message follows the timeline; the listener's thread may not have
    # handed it over yet when the fourth entry is here.
    _wait(lambda: "status" in [message["type"] for message in alerts])
    kinds = [message["type"] for message in alerts]
    assert kinds[0] == "activity"
    started = alerts[0]["ActivityNotification"][0]
    assert started["event"] == "started"
    assert started["Activity"]["type"] == "library.update.section"
    assert started["Activity"]["Context"] == {"librarySectionID": "1"}
    for message in alerts:
        array = {k: v for k, v in message.items() if k not in {"type", "size"}}
        assert len(array) == 1
        assert message["size"] == len(next(iter(array.values())))

    assert _remove(emulator, rating_key).status_code == 200
    deleted = _wait(lambda: [e for e in _timeline(alerts, rating_key) if e["state"] == 9])
    assert deleted[0]["metadataState"] == "deleted"
    assert deleted[0]["sectionID"] == "1"


def test_alert_listener_gets_playing_of_any_account(
    emulator: Emulator, alerts: list[dict[str, Any]]
) -> None:
    movie = emulator.library.sections["1"].items[5]["ratingKey"]
    response = _play(
        emulator, account="friend", ratingKey=movie, viewOffset=600_000, state="stopped"
    )
    assert response.status_code == 200
    playing = _wait(lambda: [m for m in alerts if m["type"] == "playing"])
    (notification,) = playing[0]["PlaySessionStateNotification"]
    assert notification["ratingKey"] == movie
    assert notification["key"] == f"/library/metadata/{movie}"
    assert notification["state"] == "stopped"
    assert notification["viewOffset"] == 600_000
    assert isinstance(notification["sessionKey"], str)
    assert isinstance(notification["playQueueItemID"], int)


def test_eventsource_gets_the_same_messages_as_the_websocket(
    emulator: Emulator, stream: EventSource
) -> None:
    before = emulator.events_connected()
    ws = _ws_connect(emulator, emulator.owner_token)
    try:
        _wait(lambda: emulator.events_connected() > before)
        rating_key = _add(emulator, "Narwhal Almanac")
        movie = emulator.library.sections["1"].items[3]["ratingKey"]
        emulator.play("owner", movie, 120_000, "paused")
        received = []
        while len(received) < 8:  # activity, 4 timeline, activity, status, playing
            received.append(json.loads(ws.recv())["NotificationContainer"])
        _wait(lambda: len(stream.events) >= 8)
        assert stream.messages()[:8] == received
        assert [event for event, _ in stream.events[:8]] == [m["type"] for m in received]
        assert [e["state"] for e in _timeline(received, rating_key)] == [0, 3, 4, 5]
        assert received[-1]["PlaySessionStateNotification"][0]["state"] == "paused"
    finally:
        ws.close()
        _wait(lambda: emulator.events_connected() <= before)


def test_streams_are_the_owners(emulator: Emulator) -> None:
    for token, status in ((emulator.friend_token, 403), ("not-a-token", 401)):
        assert EventSource(emulator, token).response.status_code == status
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            _ws_connect(emulator, token)
        assert refused.value.status_code == status
    # The spec's path takes the owner as well.
    before = emulator.events_connected()
    ws = _ws_connect(emulator, emulator.owner_token, "/:/websocket/notifications")
    _wait(lambda: emulator.events_connected() > before)
    ws.close()
    _wait(lambda: emulator.events_connected() <= before)
    plain = _get(emulator, "/:/websockets/notifications")
    assert plain.status_code == 400  # no Upgrade: not a WebSocket handshake


def test_websocket_answers_ping_and_close(emulator: Emulator) -> None:
    before = emulator.events_connected()
    ws = _ws_connect(emulator, emulator.owner_token)
    _wait(lambda: emulator.events_connected() > before)
    ws.ping(b"are you there")
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_PONG
    assert frame.data == b"are you there"
    ws.close()  # waits for the server's close frame
    _wait(lambda: emulator.events_connected() == before)


def test_eventsource_filters_and_keepalive(emulator: Emulator) -> None:
    emulator.state.heartbeat = 0.2
    before = emulator.events_connected()
    source = EventSource(emulator, filters="playing")
    try:
        _wait(lambda: emulator.events_connected() > before)
        rating_key = _add(emulator, "Filtered Falcon")
        emulator.play("friend", rating_key, 60_000, "playing")
        _wait(lambda: source.events)
        _wait(lambda: ": ping" in source.comments)
        assert [event for event, _ in source.events] == ["playing"]
    finally:
        emulator.state.heartbeat = 5.0
        source.close()
        _wait(lambda: emulator.events_connected() <= before)


def test_dropped_and_reset_streams_end_and_reconnect(
    emulator: Emulator, stream: EventSource
) -> None:
    response = requests.post(f"{emulator.url}/__emulator__/events/drop", timeout=TIMEOUT)
    assert response.json()["dropped"] >= 1
    assert stream.ended.wait(WAIT)
    assert stream.error is not None  # cut mid-stream, not an orderly end
    _wait(lambda: emulator.events_connected() == 0)

    again = EventSource(emulator)
    try:
        _wait(lambda: emulator.events_connected() == 1)
        emulator.set_fault("reset", path_prefix="/:/eventsource")
        assert again.ended.wait(WAIT)
        _wait(lambda: emulator.events_connected() == 0)
    finally:
        emulator.clear_fault()
        again.close()


# -- the library changing on command ---------------------------------------------------------


def _total(emulator: Emulator, token: str | None = None) -> int:
    body = _get(emulator, "/library/sections/1/all", token, **{"X-Plex-Container-Size": "0"})
    return int(body.json()["MediaContainer"]["totalSize"])


def _search_keys(emulator: Emulator, query: str) -> set[str]:
    hubs = _get(emulator, "/hubs/search", query=query).json()["MediaContainer"]["Hub"]
    return {item["ratingKey"] for hub in hubs for item in hub.get("Metadata", [])}


def test_an_added_movie_is_everywhere_and_a_removed_one_nowhere(emulator: Emulator) -> None:
    total, friend_total = _total(emulator), _total(emulator, emulator.friend_token)
    rating_key = _add(emulator, "Zanzibar Lighthouse Keeper", year=2026)
    try:
        assert _total(emulator) == total + 1
        assert _total(emulator, emulator.friend_token) == friend_total + 1
        recent = _get(emulator, "/library/recentlyAdded").json()["MediaContainer"]["Metadata"]
        assert recent[0]["ratingKey"] == rating_key
        assert rating_key in _search_keys(emulator, "zanzibar")
        (item,) = _get(emulator, f"/library/metadata/{rating_key}").json()["MediaContainer"][
            "Metadata"
        ]
        assert item["title"] == "Zanzibar Lighthouse Keeper"
        assert item["year"] == 2026
        assert item["Media"][0]["Part"]
        assert item["thumb"].startswith(f"/library/metadata/{rating_key}/")
        assert all("id" in tag and "filter" in tag for tag in item["Genre"] + item["Role"])
        genre = item["Genre"][0]["id"]
        genres = _get(emulator, "/library/sections/1/genre").json()["MediaContainer"]
        assert str(genre) in {entry["key"] for entry in genres["Directory"]}
        by_year = _get(emulator, "/library/sections/1/all", year="2026").json()
        assert rating_key in {i["ratingKey"] for i in by_year["MediaContainer"]["Metadata"]}
        newest = _get(emulator, "/library/sections/1/all", sort="addedAt:desc").json()
        assert newest["MediaContainer"]["Metadata"][0]["ratingKey"] == rating_key
        assert _get(emulator, f"/library/metadata/{rating_key}/thumb/1").status_code == 200
    finally:
        assert _remove(emulator, rating_key).status_code == 200
    assert _total(emulator) == total
    recent = _get(emulator, "/library/recentlyAdded").json()["MediaContainer"]["Metadata"]
    assert rating_key not in {entry["ratingKey"] for entry in recent}
    assert _search_keys(emulator, "zanzibar") == set()
    assert _get(emulator, f"/library/metadata/{rating_key}").status_code == 404
    newest = _get(emulator, "/library/sections/1/all", sort="addedAt:desc").json()
    assert newest["MediaContainer"]["Metadata"][0]["ratingKey"] != rating_key
    assert _remove(emulator, rating_key).status_code == 404


def test_plexapi_sees_an_added_movie(emulator: Emulator, owner_server: PlexServer) -> None:
    rating_key = emulator.add_movie("1", "Plexapi Pelican", 2025)
    try:
        movie = owner_server.fetchItem(int(rating_key))
        assert movie.title == "Plexapi Pelican"
        assert movie.year == 2025
        assert owner_server.library.sectionByID(1).recentlyAdded(maxresults=1)[0].ratingKey == int(
            rating_key
        )
        assert [m.ratingKey for m in owner_server.search("Plexapi Pelican")] == [int(rating_key)]
    finally:
        emulator.remove_item(rating_key)


def test_adding_checks_its_input(emulator: Emulator) -> None:
    url = f"{emulator.url}/__emulator__/library/items"
    assert (
        requests.post(url, json={"section": "3", "title": "A Show"}, timeout=TIMEOUT).status_code
        == 400
    )
    assert (
        requests.post(url, json={"section": "9", "title": "Nowhere"}, timeout=TIMEOUT).status_code
        == 404
    )
    assert requests.post(url, json={"section": "1"}, timeout=TIMEOUT).status_code == 400
    show = emulator.library.sections["3"].items[0]["ratingKey"]
    assert _remove(emulator, show).status_code == 400
    assert _remove(emulator, "99999999").status_code == 404
    with pytest.raises(ValueError, match="movie section"):
        emulator.add_movie("4", "Not a record")


def test_a_removed_seeded_movie_comes_back_with_reset_library(emulator: Emulator) -> None:
    section = emulator.library.sections["1"]
    collection = section.collections[0]
    member = emulator.library.collection_items[collection["ratingKey"]][0]["ratingKey"]
    total = _total(emulator)
    emulator.remove_item(member)
    children = _get(emulator, f"/library/collections/{collection['ratingKey']}/children")
    assert member not in {i["ratingKey"] for i in children.json()["MediaContainer"]["Metadata"]}
    assert _total(emulator) == total - 1
    added = emulator.add_movie("1", "Short-lived Starling")
    emulator.reset_library()
    assert _total(emulator) == total
    assert _get(emulator, f"/library/metadata/{member}").status_code == 200
    assert _get(emulator, f"/library/metadata/{added}").status_code == 404
    children = _get(emulator, f"/library/collections/{collection['ratingKey']}/children")
    assert member in {i["ratingKey"] for i in children.json()["MediaContainer"]["Metadata"]}


def test_a_play_changes_that_accounts_state_only(emulator: Emulator) -> None:
    movie = next(
        item["ratingKey"]
        for item in emulator.library.sections["1"].items
        if not emulator.watch_state("friend", item["ratingKey"])
        and not emulator.watch_state("owner", item["ratingKey"])
    )
    response = _play(
        emulator, account="friend", ratingKey=movie, viewOffset=600_000, state="stopped"
    )
    assert response.status_code == 200
    assert emulator.watch_state("friend", movie)["viewOffset"] == 600_000
    assert emulator.watch_state("owner", movie) == {}
    seen = _get(emulator, f"/library/metadata/{movie}", emulator.friend_token).json()
    assert seen["MediaContainer"]["Metadata"][0]["viewOffset"] == 600_000
    # The friend cannot play what is not shared; unknown accounts and states are refused.
    uhd = emulator.library.sections["2"].items[0]["ratingKey"]
    assert _play(emulator, account="friend", ratingKey=uhd, viewOffset=1000).status_code == 404
    assert _play(emulator, account="nobody", ratingKey=movie, viewOffset=1000).status_code == 404
    bad = _play(emulator, account="friend", ratingKey=movie, viewOffset=1000, state="dancing")
    assert bad.status_code == 400
