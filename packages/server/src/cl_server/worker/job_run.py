"""One claimed job while it runs: its context, progress reporting and cancellation state."""

from __future__ import annotations

import threading
from pathlib import Path

from cl_server.lifecycle import remove_outputs
from cl_server.mqtt.events import EventPublisher
from cl_server.plugins.base import JobContext
from cl_server.store import JobRecord, JobStore


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
        # Every attempt starts from the input alone, so retries never see old outputs.
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

    def report_progress(self, percent: int) -> None:
        # A task's own 100 % stays 99 until the job is really completed (PROTOCOL §5.3).
        progress = max(1, min(99, int(percent)))
        if progress == self.last_progress or self.lost.is_set():
            return
        if self._store.report_progress(self.job.job_id, self.job.attempt, progress):
            self.last_progress = progress
            self._publisher.job_event(self.job.job_id, "processing", progress)
        else:
            self.mark_lost()
