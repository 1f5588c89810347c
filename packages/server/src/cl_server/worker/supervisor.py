"""One thread per worker that looks after the jobs it is running, so no thread starts per job.

While a batch of jobs runs, the supervisor
- renews their leases every ``lease_interval`` s and calls ``on_lost(job_id)`` once for a job
  that is no longer ours (deleted, cancelled, or re-leased after we stalled); a refused renewal
  is also how a worker learns of a cancel whose MQTT event it missed;
- enforces the job time limit: ``on_overdue`` when the batch runs past ``limit`` s (the plugin
  is asked to stop), ``on_stuck`` when it still runs ``grace`` s later (a Python thread cannot
  be interrupted, so the worker gives the jobs up and exits);
- sends progress reports that ``JobRun`` held back (see ``job_run``) once they are due;
- calls ``on_long_running`` once when the batch has run ``announce_after`` s, so the worker can
  tell the world what it is busy with without a message per short job.

The lease renewal and every callback run on the supervisor's thread, never on the plugin's, so
a plugin busy with CPU work cannot starve its own lease. ``watch`` returns only when no action
for its batch is in progress any more, so nothing acts on a batch after its results are in.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from cl_server.store import JobStore
from cl_server.worker.job_run import JobRun

logger = logging.getLogger(__name__)


@dataclass
class _Batch:
    runs: Sequence[JobRun]
    on_lost: Callable[[str], None]
    on_overdue: Callable[[], None]
    on_stuck: Callable[[], None]
    on_long_running: Callable[[], None]
    renew_at: float
    overdue_at: float
    stuck_at: float
    announce_at: float | None
    leases: dict[str, int] = field(default_factory=dict[str, int])  # job_id -> attempt
    overdue: bool = False

    def next_due(self) -> float:
        due = [self.renew_at, self.stuck_at if self.overdue else self.overdue_at]
        if self.announce_at is not None:
            due.append(self.announce_at)
        due += [at for run in self.runs if (at := run.held_progress_due_at()) is not None]
        return min(due)


class RunSupervisor:
    def __init__(
        self,
        store: JobStore,
        *,
        worker_id: str,
        lease_interval: float,
        limit: float,
        grace: float,
        announce_after: float,
    ) -> None:
        self._store = store
        self._worker_id = worker_id
        self._lease_interval = lease_interval
        self._limit = limit
        self._grace = grace
        self._announce_after = announce_after
        self._changed = threading.Condition()
        self._acting = threading.Lock()
        self._batch: _Batch | None = None
        self._stopped = False
        # When the supervisor looks at its batch again unless woken: the end of its current
        # wait (infinity while it has no batch); None while it acts, after which it looks
        # again at once (and sees whatever was held back or started meanwhile).
        self._sleeping_until: float | None = None
        self._thread = threading.Thread(target=self._loop, name="run-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        if self._thread.is_alive():
            self._thread.join()

    @contextmanager
    def watch(
        self,
        runs: Sequence[JobRun],
        *,
        on_lost: Callable[[str], None],
        on_overdue: Callable[[], None],
        on_stuck: Callable[[], None],
        on_long_running: Callable[[], None],
    ) -> Generator[None]:
        now = time.monotonic()
        batch = _Batch(
            runs=runs,
            on_lost=on_lost,
            on_overdue=on_overdue,
            on_stuck=on_stuck,
            on_long_running=on_long_running,
            renew_at=now + self._lease_interval,
            overdue_at=now + self._limit,
            stuck_at=now + self._limit + self._grace,
            announce_at=now + self._announce_after,
            leases={run.job.job_id: run.job.attempt for run in runs},
        )
        for run in runs:
            run.notify_on_hold(self._progress_held)
        with self._changed:
            self._batch = batch
            # Back-to-back short jobs: the supervisor still sleeps until a deadline of the
            # previous batch, earlier than any of this one's, and looks at this batch then.
            # Waking it for every job cost two thread switches per job.
            self._wake_if_sleeping_past(batch.next_due())
        try:
            yield
        finally:
            with self._changed:
                self._batch = None  # no wake-up: a supervisor that wakes for nothing goes back
            with self._acting:  # an action already under way finishes before we return
                pass

    def _progress_held(self, due_at: float) -> None:
        """A progress report is held back until ``due_at``: wake up for it unless the current
        sleep ends by then anyway (a short job's first report is due with the long-job
        announcement)."""
        # Read without the lock first, the common case. A sleep that ends by ``due_at`` is
        # followed by a fresh look at the batch, which sees this report (held before the call).
        sleeping_until = self._sleeping_until
        if sleeping_until is not None and due_at >= sleeping_until:
            return
        with self._changed:
            self._wake_if_sleeping_past(due_at)

    def _wake_if_sleeping_past(self, due_at: float) -> None:
        """With ``_changed`` held: wake the supervisor if its current sleep ends after
        ``due_at``. ``_sleeping_until`` is None while it acts; it looks again right after."""
        if self._sleeping_until is not None and due_at < self._sleeping_until:
            self._changed.notify()

    def _loop(self) -> None:
        while True:
            with self._changed:
                if self._stopped:
                    return
                batch = self._batch
                if batch is None:
                    self._sleeping_until = math.inf
                    self._changed.wait()
                    self._sleeping_until = None
                    continue
                due_at = batch.next_due()
                delay = due_at - time.monotonic()
                if delay > 0:
                    self._sleeping_until = due_at
                    self._changed.wait(delay)
                    self._sleeping_until = None
                    continue
                self._acting.acquire()
            try:
                if self._batch is batch:
                    self._act(batch, time.monotonic())
            except Exception:  # one failed action must not end the supervision of later jobs
                logger.exception("job supervision failed")
            finally:
                self._acting.release()

    def _act(self, batch: _Batch, now: float) -> None:
        for run in batch.runs:
            at = run.held_progress_due_at()
            if at is not None and at <= now:
                run.send_held_progress()
        if batch.announce_at is not None and batch.announce_at <= now:
            batch.announce_at = None
            batch.on_long_running()
        if now >= batch.renew_at:
            batch.renew_at = now + self._lease_interval
            self._renew(batch)
        if not batch.overdue and now >= batch.overdue_at:
            batch.overdue = True
            batch.on_overdue()
        elif batch.overdue and now >= batch.stuck_at:
            batch.stuck_at = float("inf")
            batch.on_stuck()

    def _renew(self, batch: _Batch) -> None:
        for job_id, attempt in list(batch.leases.items()):
            try:
                still_ours = self._store.renew_lease(job_id, self._worker_id, attempt)
            except Exception:  # a database hiccup; try again next round
                logger.exception("lease renewal for %s failed", job_id)
                continue
            if not still_ours:
                logger.warning("job %s is no longer ours (deleted, cancelled or re-leased)", job_id)
                del batch.leases[job_id]
                batch.on_lost(job_id)
