"""The event listener: Plex's notification stream, read with the server owner's token, turned
into cache freshness (plex/freshness.py). `manage.py plex_events` runs it.

- One listener for the whole deployment: it holds a lease in the cache (`LEASE_TTL` seconds,
  renewed every `HEARTBEAT`); others stand by, asking for it every `STANDBY_POLL` seconds, and
  one takes over within `LEASE_TTL` of the holder's death.
- While its stream is open it reports `live` with a session id of its own every heartbeat;
  cached answers stamped with that session may live `PLEX_CACHE_TTL_LIVE`. When the stream
  breaks it reports `reconnecting` (so those answers are out of reach at once), and reconnects
  with exponential backoff and full jitter; a new stream is a new session, since events may
  have been missed in between.
- What an event changes: a `timeline` entry for an item done (added or updated) or deleted
  moves on that item's generation and its parents', its section's, continue watching's, and
  that of the lists across sections (recently added, search); a `playing` stop or pause moves
  on the item's and its parents', its section's and continue watching's (watch state shows
  there), not recently added's or search's. The item's section and parents are asked of Plex:
  notifications name only the item. Nothing else is dropped.
"""

from __future__ import annotations

import logging
import random
import re
import secrets
import threading
import time
from collections.abc import Callable

import requests
from django import db
from django.core.cache import cache

from plex.client import (
    MediaItem,
    PlexAuthError,
    PlexClient,
    PlexError,
    PlexNotFound,
    PlexUnavailable,
)
from plex.client.notifications import Notification
from plex.connections import client_for
from plex.discovery import heal
from plex.freshness import HEARTBEAT, Freshness
from plex.models import ServiceConfig
from plex.services import freshness_for, server_id

logger = logging.getLogger("plex.events")

LEASE_TTL = 5  # seconds: a dead listener's lease is free again after this long
STANDBY_POLL = 1.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
IDLE_TIMEOUT = 45.0  # a stream silent this long is dead (Plex pings well within it)
NO_OWNER_POLL = 15.0  # how often to look again for a server and an owner token
LIBRARY = "com.plexapp.plugins.library"
PLAY_STOPS = {"stopped", "paused"}
DONE = {5, 9, "5", "9"}  # timeline states: the item is whole, or it is gone
_DIGITS = re.compile(r"[0-9]{1,20}")  # a section or rating key: ASCII digits only


class Listener:
    """Run with `run(stop)`, in a thread or a process of its own, until `stop` is set."""

    def __init__(
        self,
        *,
        holder: str | None = None,
        sleep: Callable[[threading.Event, float], bool] | None = None,
    ) -> None:
        self.holder = holder or f"listener-{secrets.token_hex(6)}"
        self._wait = sleep or (lambda stop, seconds: stop.wait(seconds))
        self.last_event_at: float | None = None
        self.session = ""
        self.connected = threading.Event()  # set while a stream is open (for tests)

    # -- the loop -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        try:
            self._run(stop)
        finally:
            db.connection.close()  # this thread's: back to the pool, or closed

    def _run(self, stop: threading.Event) -> None:
        backoff = BACKOFF_FIRST
        while not stop.is_set():
            config = ServiceConfig.objects.active()
            token = config.owner_token if config is not None else None
            # Outside a request nothing gives the database connection back: a stream open for
            # hours must not hold one from the pool, and one broken by a PostgreSQL restart
            # must not fail every later turn of this loop.
            db.close_old_connections()
            if config is None or not token:
                logger.info("No Plex server with an owner token yet; live updates are off.")
                self._wait(stop, NO_OWNER_POLL)
                continue
            if not self._take_lease(config):
                self._wait(stop, STANDBY_POLL)
                continue
            opened = time.monotonic()
            try:
                self._listen(config, token, stop)
            except PlexAuthError:
                logger.warning("Plex refused the owner token on the notification stream.")
            except PlexError as exc:
                logger.warning("Plex notification stream ended: %s", exc)
                if isinstance(exc, PlexUnavailable):
                    # The server may have moved: without users browsing, nobody else notices.
                    heal(config)
            finally:
                self.connected.clear()
            if stop.is_set():
                break
            freshness_for(config).report("reconnecting", self.session, self.last_event_at)
            if time.monotonic() - opened > BACKOFF_MAX:
                backoff = BACKOFF_FIRST  # it had been up a while: this is a fresh failure
            self._wait(stop, random.uniform(0, backoff))
            backoff = min(backoff * 2, BACKOFF_MAX)
        self._release()

    def _listen(self, config: ServiceConfig, token: str, stop: threading.Event) -> None:
        freshness = freshness_for(config)
        client = client_for(config.address, token)
        self.session = secrets.token_hex(6)
        opened: list[requests.Response] = []
        # This stream's own flag, for its own heartbeat: after a quick reconnect the last
        # stream's heartbeat may still be waiting, and must neither keep this one's going nor
        # be the one that closes it (it would close only its own, long gone).
        streaming = threading.Event()

        def on_open(response: requests.Response) -> None:
            opened.append(response)
            streaming.set()
            self.connected.set()
            freshness.report("live", self.session, self.last_event_at)
            beat = threading.Thread(
                target=self._heartbeat,
                args=(freshness, config, stop, response, streaming),
                daemon=True,
            )
            beat.start()

        stream = client.notifications(idle_timeout=IDLE_TIMEOUT, on_open=on_open)
        try:
            for notification in stream:
                self.last_event_at = time.time()
                self.handle(notification, freshness, client)
                if stop.is_set() or not streaming.is_set():
                    return  # stopping, or the lease was lost
        except PlexError:
            if stop.is_set() or (opened and not streaming.is_set()):
                return  # closed on purpose by the heartbeat
            raise
        finally:
            streaming.clear()
            self.connected.clear()
            stream.close()

    def _heartbeat(
        self,
        freshness: Freshness,
        config: ServiceConfig,
        stop: threading.Event,
        response: requests.Response,
        streaming: threading.Event,
    ) -> None:
        """While its stream is open: renew the lease and say `live`. On stop, or when the lease
        was lost, close that stream (which ends a read that is waiting for an event)."""
        while streaming.is_set():
            if stop.is_set() or not self._renew_lease(config):
                if not stop.is_set():
                    logger.warning("Lost the event listener's lease; standing by.")
                streaming.clear()
                self.connected.clear()
                response.close()
                return
            freshness.report("live", self.session, self.last_event_at)
            stop.wait(HEARTBEAT)

    # -- what an event changes ------------------------------------------------------------

    def handle(self, notification: Notification, freshness: Freshness, client: PlexClient) -> None:
        if notification.type == "timeline":
            for entry in notification.entries("TimelineEntry"):
                # Plex reports an item's progress through a scan (created, loading,
                # processing...); it is whole at "done" (5), gone at "deleted" (9).
                if entry.get("identifier", LIBRARY) != LIBRARY or entry.get("state") not in DONE:
                    continue
                key = _key(entry.get("itemID"))
                family = _family(client, key) if key else []
                freshness.changed(_section(entry.get("sectionID")), family, listed=True)
        elif notification.type == "playing":
            for entry in notification.entries("PlaySessionStateNotification"):
                if entry.get("state") in PLAY_STOPS:
                    key = _key(entry.get("ratingKey"))
                    if key:
                        item = _item(client, key)
                        section = _section(item.library_section_id) if item else None
                        freshness.changed(section, _lineage(key, item), listed=False)

    # -- the lease ------------------------------------------------------------------------

    def _lease_key(self, config: ServiceConfig) -> str:
        return f"plex:v1:{server_id(config)}:events:lease"

    def _take_lease(self, config: ServiceConfig) -> bool:
        key = self._lease_key(config)
        self._lease = key
        if cache.add(key, self.holder, timeout=LEASE_TTL):
            logger.info("Event listener %s holds the lease.", self.holder)
            return True
        return cache.get(key) == self.holder

    def _renew_lease(self, config: ServiceConfig) -> bool:
        # Not atomic: a lease that expired between the get and the set could be taken over
        # twice. Two listeners for a moment only move the same generations on twice.
        key = self._lease_key(config)
        if cache.get(key) not in (self.holder, None):
            return False
        cache.set(key, self.holder, timeout=LEASE_TTL)
        return True

    def _release(self) -> None:
        key = getattr(self, "_lease", None)
        config = ServiceConfig.objects.active()
        if config is not None:
            freshness_for(config).report("off", self.session, self.last_event_at)
        if key is not None and cache.get(key) == self.holder:
            cache.delete(key)


def _section(value: object) -> str | None:
    text = str(value) if value is not None else ""
    return text if _DIGITS.fullmatch(text) else None


def _key(value: object) -> str:
    text = str(value) if value is not None else ""
    return text if _DIGITS.fullmatch(text) else ""


def _item(client: PlexClient, rating_key: str) -> MediaItem | None:
    """The item, asked of Plex with the owner's token (notifications name an item, not its
    section or its parents); None when it is gone or Plex cannot say now."""
    try:
        return client.metadata(rating_key)
    except PlexNotFound:
        return None
    except PlexError as exc:
        logger.info("Could not look up item %s: %s", rating_key, exc)
        return None


def _lineage(rating_key: str, item: MediaItem | None) -> list[str]:
    """The item and the items that list it as a child (a season, a show): their details and
    children change with it."""
    parents = [item.parent_rating_key, item.grandparent_rating_key] if item else []
    return [rating_key, *(key for key in parents if _key(key))]


def _family(client: PlexClient, rating_key: str) -> list[str]:
    """For an added, changed or removed item: itself and its parents. A removed one cannot be
    looked up any more: itself only (its parents' lists then live until their TTL)."""
    return _lineage(rating_key, _item(client, rating_key))
