"""A clock moved by hand, for the tests of time-bound rules (sign-in, the emulator's plex.tv)."""

from __future__ import annotations


class ManualClock:
    """Seconds that move only when a test says so: time-bound rules are checked at once and
    exactly, without sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        # A wall-clock-like start: the sign-in's first check compares against 0.0.
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
