"""The Plex emulator over real sockets, shared by the plex app's integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plex.emulator import Emulator


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[Emulator]:
    with Emulator(
        owner_token="owner-token-7f3a9c2e51",
        friend_token="friend-token-4b8d6e1f09",
        movies=240,
        shows=8,
    ) as emulator:
        yield emulator


@pytest.fixture
def emulator(_emulator_server: Emulator) -> Iterator[Emulator]:
    """A running emulator with no fault and zeroed statistics, left that way afterwards."""
    _emulator_server.clear_fault()
    _emulator_server.reset_stats()
    yield _emulator_server
    _emulator_server.clear_fault()
