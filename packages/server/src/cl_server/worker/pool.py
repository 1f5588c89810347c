"""``cl-server worker --concurrency N``: N worker processes kept alive by one parent."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from cl_server.settings import WorkerSettings

logger = logging.getLogger(__name__)

RESTART_DELAY_S = 2.0
"""Pause before replacing a child that died, so a worker that cannot start does not spin."""
MAX_RESTART_DELAY_S = 60.0
HEALTHY_RUN_S = 30.0
"""A child that served this long before dying is restarted after the base delay again."""


def next_restart_delay(previous: float | None, lived_s: float) -> float:
    """Back-off for replacing a child: doubled for each quick death in a row, reset after a
    healthy run, so a worker that cannot start (bad database URL, broken model) does not flood
    the log every two seconds."""
    if previous is None or lived_s >= HEALTHY_RUN_S:
        return RESTART_DELAY_S
    return min(previous * 2, MAX_RESTART_DELAY_S)


WorkerMain = Callable[[WorkerSettings, str, bool], object]


class WorkerPool:
    """Runs one worker per process and replaces any that dies while the pool is serving.

    A child that exits with status 0 stopped on purpose (burst mode drained the queue, or it was
    told to stop) and is not replaced; any other exit (a crash, SIGKILL, the job time limit's
    forced exit) is, under the same worker id, so its capability topic is simply re-announced.
    """

    def __init__(
        self,
        settings: WorkerSettings,
        base_id: str,
        concurrency: int,
        *,
        burst: bool,
        target: WorkerMain,
    ) -> None:
        self._settings = settings
        self._burst = burst
        self._target = target
        self._context = multiprocessing.get_context("spawn")
        self._ids = [f"{base_id}-{index + 1}" for index in range(concurrency)]
        self._processes: list[BaseProcess] = []
        self._started_at: dict[str, float] = {}
        self._delays: dict[str, float] = {}
        self._stopping = threading.Event()
        self._forwarding = False  # SIGTERM is passed on; Ctrl-C reaches the children by itself
        self._signalled: set[int] = set()  # a second signal would make a child stop at once

    def run(self) -> int:
        """Serve until SIGTERM (or until every burst-mode child is done); the worst exit status."""
        signal.signal(signal.SIGTERM, self._forward_stop)
        # Ctrl-C already reaches every process of the terminal's group; forwarding would double it.
        signal.signal(signal.SIGINT, self._note_interrupt)
        self._processes = [self._spawn(worker_id) for worker_id in self._ids]
        while True:
            if self._forwarding:
                # Also reaches children started while the signal came (at start or a restart).
                self._signal_children()
            for index, process in enumerate(self._processes):
                if self._should_replace(process):
                    self._processes[index] = self._replace(process)
            running = [process for process in self._processes if process.exitcode is None]
            if not running:
                break
            ready = set(wait([process.sentinel for process in running]))
            for process in running:
                if process.sentinel in ready:
                    # The sentinel pipe closes a moment before the kernel has the exit status;
                    # without this reap a dead child could read as running at the check above
                    # and as exited when ``running`` is built, and so never be replaced.
                    process.join()
        return max((process.exitcode or 0) for process in self._processes)

    def _spawn(self, worker_id: str) -> BaseProcess:
        process = self._context.Process(
            target=self._target, args=(self._settings, worker_id, self._burst), name=worker_id
        )
        process.start()
        self._started_at[worker_id] = time.monotonic()
        return process

    def _should_replace(self, process: BaseProcess) -> bool:
        return (
            process.exitcode is not None
            and process.exitcode != 0
            and not self._burst
            and not self._stopping.is_set()
        )

    def _replace(self, dead: BaseProcess) -> BaseProcess:
        lived = time.monotonic() - self._started_at[dead.name]
        delay = next_restart_delay(self._delays.get(dead.name), lived)
        self._delays[dead.name] = delay
        logger.warning(
            "worker %s exited with status %s; restarting in %.0f s", dead.name, dead.exitcode, delay
        )
        if self._stopping.wait(delay):
            return dead
        return self._spawn(dead.name)

    def _forward_stop(self, _signum: int, _frame: FrameType | None) -> None:
        self._forwarding = True
        self._stopping.set()
        self._signal_children()

    def _note_interrupt(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping.set()

    def _signal_children(self) -> None:
        for process in self._processes:
            pid = process.pid
            if pid is not None and process.exitcode is None and pid not in self._signalled:
                self._signalled.add(pid)
                os.kill(pid, signal.SIGTERM)
