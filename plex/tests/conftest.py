"""Fixtures for the Plex client's tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses
import time_machine

from plex.client import session as plex_session


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """Plex answered by `responses`, for unit tests of the client: every answer set up must
    be asked for."""
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without their pauses: make_retry reads these when a session is built, so every
    client built after this fixture retries at once."""
    monkeypatch.setattr(plex_session, "RETRY_BACKOFF_FACTOR", 0)
    monkeypatch.setattr(plex_session, "RETRY_BACKOFF_JITTER", 0)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """A frozen wall clock to move by hand: pybreaker reads datetime.now(UTC); sockets and
    urllib3 keep the real monotonic clock."""
    with time_machine.travel(datetime(2025, 1, 1, 12, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def hostile(emulator):  # -> Iterator[HostilePlex]
    """A hostile Plex in front of the emulator: well behaved until a test sets a mode."""
    from plex_emulator.hostile import HostilePlex

    with HostilePlex(emulator.url) as plex:
        yield plex


@pytest.fixture
def elsewhere(emulator):  # -> Iterator[HostilePlex]
    """Another host a redirect may point at; it records whatever reaches it."""
    from plex_emulator.hostile import HostilePlex

    with HostilePlex(emulator.url) as listener:
        yield listener
