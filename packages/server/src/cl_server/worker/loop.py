"""The worker loop: claim, run, report, publish (PROTOCOL §6, ARCHITECTURE job semantics)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from cl_client.models import JobEvent, WorkerCapability
from cl_client.topics import worker_topic
from cl_server.errors import JobCancelledError, PluginError
from cl_server.lifecycle import remove_outputs, requeue_expired_and_notify
from cl_server.mqtt.connection import MqttConnection
from cl_server.mqtt.events import WORKER_WAKE_TOPIC, EventPublisher
from cl_server.plugins.base import PluginRunner, TaskOutput
from cl_server.settings import WorkerSettings
from cl_server.store import CANCELLED, JobRecord, JobStore
from cl_server.timeutil import now_ms
from cl_server.worker.job_run import JobRun
from cl_server.worker.queued_sightings import QueuedSightings
from cl_server.worker.supervisor import RunSupervisor

logger = logging.getLogger(__name__)

REAP_INTERVAL_S = 5.0
QUEUED_EVENT_WAIT_S = 0.5
"""Longest a worker holds back ``processing`` for a fresh job's ``queued`` event to pass by."""
STUCK_EXIT_STATUS = 70
"""Exit status of a worker that gave up on a plugin which would not stop (EX_SOFTWARE)."""
ANNOUNCE_LONG_JOB_AFTER_S = 0.25
"""A job running this long makes the worker announce itself busy with it (``current_job_ids``).
Shorter jobs get no busy message: a change that is over before anyone could act on it is not
worth a message to every subscriber. When the queue runs dry the worker announces itself idle,
with its new counters, if anything changed; the heartbeat covers the rest."""


def failure_message(task_type: str, exc: BaseException) -> str:
    """The ``error_message`` users see: the plugin's own sentence, or a labelled internal error."""
    if isinstance(exc, PluginError):
        return str(exc) or f"{task_type} could not process the input"
    if isinstance(exc, MemoryError):
        return f"{task_type}: ran out of memory while processing the input"
    detail = str(exc) or "no details"
    return f"{task_type}: internal error ({type(exc).__name__}: {detail})"


class Worker:
    def __init__(
        self,
        *,
        worker_id: str,
        store: JobStore,
        connection: MqttConnection,
        runners: Mapping[str, PluginRunner],
        settings: WorkerSettings,
        burst: bool = False,
        unavailable: Mapping[str, str] | None = None,
        execution_provider: str | None = None,
        models: Sequence[str] = (),
    ) -> None:
        self.worker_id = worker_id
        self.store = store
        self.connection = connection
        self.publisher = EventPublisher(connection)
        self.runners = dict(runners)
        self.unavailable = dict(unavailable or {})
        self._execution_provider = execution_provider
        self._models = list(models)
        self._started_at = now_ms()
        # Fixed for the process; read once rather than on every busy/idle announcement.
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self.failed = 0
        self.settings = settings
        self.jobs_dir = settings.jobs_dir
        self.burst = burst
        self.stopping = threading.Event()
        self.processed = 0
        self._wake = threading.Event()
        self._busy = False
        self._announced: tuple[bool, int, int] | None = None  # (busy, done, failed) last sent
        self._found_work = False
        self._current: list[JobRun] = []
        self._supervisor = RunSupervisor(
            store,
            worker_id=worker_id,
            lease_interval=max(0.2, settings.lease_seconds / 3),
            limit=settings.job_timeout_seconds,
            grace=settings.job_timeout_grace_seconds,
            announce_after=ANNOUNCE_LONG_JOB_AFTER_S,
        )
        self._last_reap = 0.0
        self._queued_seen = QueuedSightings()
        self._listening_since_ms: int | None = None
        connection.subscribe(WORKER_WAKE_TOPIC, self._on_job_event)
        connection.add_connect_hook(self._on_connect)

    @property
    def task_types(self) -> list[str]:
        return list(self.runners)

    # --- lifecycle -----------------------------------------------------------------------

    def run(self) -> int:
        """Serve jobs until ``request_stop`` (or, in burst mode, until the queue is empty)."""
        heartbeat = threading.Thread(
            target=self._heartbeat, name="capability-heartbeat", daemon=True
        )
        heartbeat.start()
        self._supervisor.start()
        logger.info(
            "worker %s serving: %s", self.worker_id, ", ".join(self.task_types) or "nothing"
        )
        try:
            while not self.stopping.is_set():
                self._wake.clear()  # cleared before claiming, so a wake-up during claim is kept
                self._maybe_reap()
                jobs = self._claim()
                if jobs:
                    self._process(jobs)
                    continue
                self._busy = False
                if self._announced != self._state():  # a run of jobs ended: idle, new counters
                    self.publish_capability()
                if self.burst:
                    break
                self._wake.wait(self.settings.idle_poll_seconds)
        finally:
            self.stopping.set()
            self._supervisor.stop()
            self.publisher.close()
            self.connection.stop(final_topic=worker_topic(self.worker_id))
        return self.processed

    def request_stop(self) -> None:
        """Graceful stop (SIGTERM): running jobs are told to stop and are released if they do."""
        self.stopping.set()
        self._wake.set()
        for run in list(self._current):
            run.cancelled.set()

    def _state(self) -> tuple[bool, int, int]:
        return (self._busy, self.processed, self.failed)

    def publish_capability(self) -> None:
        self._announced = self._state()
        self.publisher.capability(
            WorkerCapability(
                worker_id=self.worker_id,
                capabilities=self.task_types,
                idle_count=0 if self._busy else 1,
                timestamp=now_ms(),
                unavailable=self.unavailable,
                execution_provider=self._execution_provider,
                host=self._host,
                pid=self._pid,
                started_at=self._started_at,
                models=self._models,
                current_job_ids=[run.job.job_id for run in self._current],
                jobs_done=self.processed,
                jobs_failed=self.failed,
            )
        )

    # --- internals -----------------------------------------------------------------------

    def _on_connect(self) -> None:
        self._listening_since_ms = now_ms()
        # Announce ourselves on every (re)connect, e.g. after a broker restart.
        self.publish_capability()

    def _on_job_event(self, _topic: str, payload: bytes) -> None:
        try:
            event = JobEvent.model_validate_json(payload)
        except ValidationError:
            return
        if event.event_type == "queued":
            self._queued_seen.saw(event.job_id)
            self._wake.set()
        elif event.event_type == CANCELLED:
            self._on_cancelled(event.job_id)

    def _on_cancelled(self, job_id: str) -> None:
        """A user cancelled a job: stop its plugin now rather than at the next lease renewal,
        which stays the fallback when this event is missed."""
        for run in list(self._current):
            if run.job.job_id != job_id:
                continue
            # The event may be stale: terminal events are published twice, a second apart, and
            # the job may have been retried and claimed by us again in between. Only the store
            # says whether *this* attempt is the cancelled one (a primary-key read).
            try:
                current = self.store.get_job(job_id)
            except Exception:  # the lease renewal will tell; never break the MQTT thread
                logger.exception("could not check the cancel of job %s", job_id)
                return
            if current is None or current.status != CANCELLED:
                continue
            if current.attempt == run.job.attempt:
                logger.info("job %s was cancelled; stopping it", job_id)
                run.mark_cancelled_by_user()

    def _await_queued_events(self, jobs: list[JobRecord]) -> None:
        """Let each fresh job's ``queued`` event go out before our ``processing`` does.

        Only jobs created since this connection started listening can be waited for; the wait is
        short, so a ``queued`` event that never comes (its publisher is offline) costs little.
        """
        since = self._listening_since_ms
        if since is None or not self.connection.connected:
            return
        fresh = [job.job_id for job in jobs if job.attempt == 1 and job.created_at >= since]
        if fresh and not self._queued_seen.wait_for(fresh, QUEUED_EVENT_WAIT_S):
            logger.debug("no queued event seen for %s; announcing processing anyway", fresh)

    def _heartbeat(self) -> None:
        while not self.stopping.is_set():
            if self.connection.connected:
                self.publish_capability()
            self.stopping.wait(self.settings.heartbeat_seconds)

    def _maybe_reap(self) -> None:
        now = time.monotonic()
        if now - self._last_reap >= REAP_INTERVAL_S:
            self._last_reap = now
            requeue_expired_and_notify(self.store, self.publisher)

    def _claim(self) -> list[JobRecord]:
        if not self.runners:
            return []
        # Right after a job, the next is likely waiting: claim without the read that saves
        # an idle worker's polls from taking the write lock.
        jobs = self.store.claim(
            self.worker_id, self.task_types, limit=1, check_first=not self._found_work
        )
        self._found_work = bool(jobs)
        if not jobs:
            return []
        batch_size = self.runners[jobs[0].task_type].max_batch_size
        if batch_size > 1:
            jobs += self.store.claim(self.worker_id, [jobs[0].task_type], limit=batch_size - 1)
        return jobs

    def _announce_long_job(self) -> None:
        if self._busy:
            self.publish_capability()

    def _process(self, jobs: list[JobRecord]) -> None:
        runner = self.runners[jobs[0].task_type]
        runs = [JobRun(job, self.jobs_dir / job.job_id, self.store, self.publisher) for job in jobs]
        by_id = {run.job.job_id: run for run in runs}
        self._current = runs
        self._busy = True
        self._await_queued_events(jobs)
        for run in runs:
            self.publisher.job_event(run.job.job_id, "processing", 0)
            run.started()
        try:
            with self._supervisor.watch(
                runs,
                on_lost=lambda job_id: by_id[job_id].mark_lost(),
                on_overdue=lambda: self._time_out(runs),
                on_stuck=lambda: self._abandon(runs),
                on_long_running=self._announce_long_job,
            ):
                results = self._execute(runner, runs)
            for run, result in zip(runs, results, strict=True):
                run.close_progress()
                self._finish(run, result)
        finally:
            self._current = []

    def _timeout_message(self, task_type: str) -> str:
        limit = self.settings.job_timeout_seconds
        return f"{task_type}: did not finish within the job time limit of {limit:g} s"

    def _time_out(self, runs: list[JobRun]) -> None:
        logger.warning("job(s) %s ran past the time limit; stopping", [r.job.job_id for r in runs])
        for run in runs:
            run.mark_timed_out()

    def _abandon(self, runs: list[JobRun]) -> None:
        """The plugin ignored the stop request: fail its jobs and end this process.

        A Python thread cannot be interrupted, so the only way to free the worker is to exit;
        `cl-server up` (or the service manager) starts a fresh one.
        """
        for run in runs:
            job = run.job
            if self.store.fail(job.job_id, job.attempt, self._timeout_message(job.task_type)):
                self.publisher.job_event(job.job_id, "failed", run.last_progress)
        logger.critical(
            "worker %s: plugin ignored its stop request for %g s; exiting",
            self.worker_id,
            self.settings.job_timeout_grace_seconds,
        )
        self.publisher.close()
        self.connection.stop(final_topic=worker_topic(self.worker_id))
        os._exit(STUCK_EXIT_STATUS)

    def _execute(self, runner: PluginRunner, runs: list[JobRun]) -> list[TaskOutput | Exception]:
        if len(runs) == 1:
            try:
                return [runner.run(runs[0].context)]
            except Exception as exc:  # any plugin failure fails only this job
                return [exc]
        try:
            return runner.run_batch([run.context for run in runs])
        except Exception as exc:
            return [exc for _ in runs]

    def _discard(self, run: JobRun) -> None:
        """Drop the result of a job that is no longer ours, and what its plugin left behind.

        The plugin may have written files after the delete or cancel removed them. Only our own
        attempt's leftovers are removed: a job re-leased, or retried since the cancel, belongs
        to a newer attempt whose outputs must stay.
        """
        job = run.job
        logger.info("discarding result of job %s: it is no longer ours", job.job_id)
        current = self.store.get_job(job.job_id)
        if current is None:
            shutil.rmtree(self.jobs_dir / job.job_id, ignore_errors=True)
        elif current.status == CANCELLED and current.attempt == job.attempt:
            remove_outputs(self.jobs_dir / job.job_id)

    def _finish(self, run: JobRun, result: TaskOutput | Exception) -> None:
        job = run.job
        if run.lost.is_set() or run.cancelled_by_user.is_set():
            self._discard(run)
            return
        if isinstance(result, Exception) and run.cancelled.is_set() and self.stopping.is_set():
            if self.store.release(job.job_id, job.attempt):
                logger.info("released job %s for another worker", job.job_id)
                self.publisher.job_event(job.job_id, "queued", 0)
            return
        if isinstance(result, Exception):
            if not isinstance(result, (PluginError, JobCancelledError)):
                logger.error("job %s failed unexpectedly", job.job_id, exc_info=result)
            if run.timed_out.is_set():
                message = self._timeout_message(job.task_type)
            else:
                message = failure_message(job.task_type, result)
            if self.store.fail(job.job_id, job.attempt, message):
                self.failed += 1
                logger.info("job %s failed: %s", job.job_id, message)
                self.publisher.job_event(job.job_id, "failed", run.last_progress)
            else:  # refused: cancelled, deleted or re-leased in the meantime
                self._discard(run)
            return
        if self.store.complete(job.job_id, job.attempt, result):
            self.processed += 1
            logger.info("job %s (%s) completed", job.job_id, job.task_type)
            self.publisher.job_event(job.job_id, "completed", 100)
        else:
            self._discard(run)
