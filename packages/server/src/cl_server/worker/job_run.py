"""One claimed job while it runs: its context, progress reporting and cancellation state."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from cl_server.mqtt.events import EventPublisher
from cl_server.plugins.base import JobContext
from cl_server.store import JobRecord, JobStore

# Directories a plugin writes; cleared before each attempt so retries start clean (idempotence).
OUTPUT_DIRS = ("output", "faces")


class JobRun:
    def __init__(
        self, job: JobRecord, job_dir: Path, store: JobStore, publisher: EventPublisher
    ) -> None:
        self.job = job
        self.lost = threading.Event()
        """Set when the job is no longer ours: its result must be discarded."""
        self.cancelled = threading.Event()
        """Tells the plugin to stop: set when lost, timed out, or when the worker shuts down."""
        self.timed_out = threading.Event()
        """Set when the job ran past the worker's job time limit."""
        self.last_progress = 0
        self._store = store
        self._publisher = publisher
        for name in OUTPUT_DIRS:
            shutil.rmtree(job_dir / name, ignore_errors=True)
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
