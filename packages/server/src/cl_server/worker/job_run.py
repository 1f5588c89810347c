"""One claimed job while it runs: its context, progress reporting and cancellation state.

Progress is coalesced: a report reaches the store and MQTT at most once per
``PROGRESS_INTERVAL_S``, counted from the ``processing`` event. A report that comes sooner is
held back and the worker's supervisor sends the latest held one when its turn comes; one still
held when the job ends is dropped, because the terminal event supersedes it. So a job that
takes a few milliseconds costs no progress writes at all, and a long one still shows its
progress several times a second (PROTOCOL §5.3 order is kept: every progress event goes out
between ``processing`` and the terminal event).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from cl_server.lifecycle import remove_outputs
from cl_server.mqtt.events import EventPublisher
from cl_server.plugins.base import JobContext
from cl_server.store import JobRecord, JobStore

PROGRESS_INTERVAL_S = 0.25


def _nothing(_due_at: float) -> None:
    return None


class JobRun:
    def __init__(
        self, job: JobRecord, job_dir: Path, store: JobStore, publisher: EventPublisher
    ) -> None:
        self.job = job
        self.lost = threading.Event()
        """Set when the job is no longer ours: its result must be discarded."""
        self.cancelled = threading.Event()
        """Tells the plugin to stop: set when lost, cancelled, timed out, or when the worker
        shuts down."""
        self.cancelled_by_user = threading.Event()
        """Set when a ``cancelled`` event for this job arrived: its result must be discarded."""
        self.timed_out = threading.Event()
        """Set when the job ran past the worker's job time limit."""
        self.last_progress = 0
        self._store = store
        self._publisher = publisher
        self._progress_lock = threading.Lock()
        self._last_sent_at = time.monotonic()
        self._held_progress: int | None = None
        self._on_hold: Callable[[float], None] = _nothing
        self._progress_closed = False
        # Every attempt starts from the input alone, so retries never see old outputs. A first
        # attempt has had no run that could have left any (saves a directory scan per job).
        if job.attempt > 1:
            remove_outputs(job_dir)
        input_rel = job.params.get("input_path")
        self.context = JobContext(
            job_id=job.job_id,
            job_dir=job_dir,
            input_path=job_dir / input_rel if isinstance(input_rel, str) else None,
            params=job.params,
            report_progress=self.report_progress,
            cancelled=self.cancelled,
        )

    def mark_timed_out(self) -> None:
        self.timed_out.set()
        self.cancelled.set()

    def mark_cancelled_by_user(self) -> None:
        self.cancelled_by_user.set()
        self.cancelled.set()

    def mark_lost(self) -> None:
        self.lost.set()
        self.cancelled.set()

    def started(self) -> None:
        """The ``processing`` event went out: progress intervals count from now."""
        with self._progress_lock:
            self._last_sent_at = time.monotonic()

    def report_progress(self, percent: int) -> None:
        # A task's own 100 % stays 99 until the job is really completed (PROTOCOL §5.3).
        progress = max(1, min(99, int(percent)))
        with self._progress_lock:
            if self._progress_closed or self.lost.is_set():
                return
            if time.monotonic() - self._last_sent_at >= PROGRESS_INTERVAL_S:
                self._send_progress(progress)
                return
            newly_held = self._held_progress is None
            self._held_progress = progress
            due_at = self._last_sent_at + PROGRESS_INTERVAL_S
        if newly_held:  # outside the lock: the supervisor takes its own lock, then ours
            self._on_hold(due_at)

    def notify_on_hold(self, callback: Callable[[float], None]) -> None:
        """Call ``callback(due_at)`` whenever a report starts to be held back, with the time
        (``time.monotonic``) it may go out: the supervisor's wake-up, as it sleeps until the
        next thing it knows to be due."""
        self._on_hold = callback

    def held_progress_due_at(self) -> float | None:
        """When (``time.monotonic``) the held-back progress report may go out; ``None``: none."""
        with self._progress_lock:
            if self._held_progress is None or self._progress_closed:
                return None
            return self._last_sent_at + PROGRESS_INTERVAL_S

    def send_held_progress(self) -> None:
        """Send the held-back report (the supervisor's call, once it is due)."""
        with self._progress_lock:
            if self._held_progress is None or self._progress_closed or self.lost.is_set():
                return
            self._send_progress(self._held_progress)

    def close_progress(self) -> None:
        """The job is ending: no progress event may follow its terminal one."""
        with self._progress_lock:
            self._progress_closed = True
            self._held_progress = None

    def _send_progress(self, progress: int) -> None:
        self._held_progress = None
        self._last_sent_at = time.monotonic()
        if progress == self.last_progress:
            return
        if self._store.report_progress(self.job.job_id, self.job.attempt, progress):
            self.last_progress = progress
            self._publisher.job_event(self.job.job_id, "processing", progress)
        else:
            self.mark_lost()
