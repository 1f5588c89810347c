"""A per-job time limit, so that no job stays ``processing`` forever.

The lease heartbeat keeps a job alive as long as its worker process lives, so a plugin stuck in
an endless loop would hold its job for ever. The watchdog first asks the plugin to stop (the
job's cancel event); a plugin that ignores that for ``grace`` seconds cannot be interrupted from
Python, so ``on_stuck`` fails the job and ends the worker process.
"""

from __future__ import annotations

from collections.abc import Callable

from cl_server.worker.background import BackgroundThread


class Watchdog(BackgroundThread):
    thread_name = "job-watchdog"

    def __init__(
        self,
        limit: float,
        *,
        grace: float,
        on_overdue: Callable[[], None],
        on_stuck: Callable[[], None],
    ) -> None:
        super().__init__()
        self._limit = limit
        self._grace = grace
        self._on_overdue = on_overdue
        self._on_stuck = on_stuck

    def _run(self) -> None:
        if self._done.wait(self._limit):
            return
        self._on_overdue()
        if self._done.wait(self._grace):
            return
        self._on_stuck()
