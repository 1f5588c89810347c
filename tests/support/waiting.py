"""Polling for a condition with a deadline (tests wait on state, never on fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, *, interval: float = 0.05
) -> None:
    """Return once ``predicate()`` holds; raise ``TimeoutError(what)`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(interval)
