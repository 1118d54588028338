"""Start callers together, as a busy evening does: for the coalescing tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django import db


def run_together(call: Callable[[int], Any], count: int = 20) -> list[Any]:
    """`count` threads call `call(index)` at the same moment; each result, or the error raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        barrier.wait(timeout=10)
        try:
            results[index] = call(index)
        except Exception as exc:  # returned for the test's assertions
            results[index] = exc
        finally:
            # A thread's database connection is given back by nobody else: left to the garbage
            # collector, it may still hold the test database when the run drops it.
            db.connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a caller never got an answer"
    return results
