"""A per-job time limit, so that no job stays ``processing`` forever.

The lease heartbeat keeps a job alive as long as its worker process lives, so a plugin stuck in
an endless loop would hold its job for ever. The watchdog first asks the plugin to stop (the
job's cancel event); a plugin that ignores that for ``grace`` seconds cannot be interrupted from
Python, so ``on_stuck`` fails the job and ends the worker process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


class Watchdog:
    def __init__(
        self,
        limit: float,
        *,
        grace: float,
        on_overdue: Callable[[], None],
        on_stuck: Callable[[], None],
    ) -> None:
        self._limit = limit
        self._grace = grace
        self._on_overdue = on_overdue
        self._on_stuck = on_stuck
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="job-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self._limit):
            return
        self._on_overdue()
        if self._done.wait(self._grace):
            return
        self._on_stuck()
