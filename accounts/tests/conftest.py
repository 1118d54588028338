"""Fixtures for the accounts tests."""

from __future__ import annotations

import pytest

from accounts import plex_signin
from harness.clock import ManualClock
from plex_emulator import Emulator


@pytest.fixture
def plex_clock(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> ManualClock:
    """One frozen clock for MediaNest's sign-in steps and the emulator's plex.tv, both put back
    afterwards. One clock can stand for both: each compares only its own readings, and moving
    them together is what real time does."""
    clock = ManualClock()
    monkeypatch.setattr(plex_signin, "clock", clock)
    monkeypatch.setattr(emulator.plex_tv, "clock", clock)
    return clock
