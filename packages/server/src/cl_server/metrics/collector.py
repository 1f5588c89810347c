"""Job counters and timing histograms, fed by the job events the compute service sees.

Events are not a ledger: workers publish each terminal event twice (PROTOCOL §5.3), a broker may
redeliver at QoS 1, and retries or requeues publish ``queued`` again. So every event is checked
against the job store before it moves a counter:

- A submission is the first ``queued`` event of a job id. Later ``queued`` events of the same job
  (lease expiry, graceful release, ``POST /jobs/{id}/retry``) are not new submissions.
- A terminal transition is counted once per ``(status, completed_at)`` read from the job's row.
  The re-published event finds the same row and is dropped; a retried job that ends again has a
  new ``completed_at`` and is counted again, as it should be. An event whose row says the job is
  no longer in that status (retried in between) is dropped; one whose row was deleted is counted
  only if no end of that job was counted before.
- The rows of the ends in one batch of events (``record_batch``) are read in one statement: the
  feed hands over what gathered in a short window, so under load one read serves many jobs.
- Durations come from the row, not from event timestamps: ``completed_at - started_at`` and
  ``started_at - created_at`` of the run that ended, observed for completed and failed jobs that
  were running (a cancelled job did not finish its work, so it has no run time to report).

Both memories are bounded; a job id forgotten after ``memory`` newer jobs could, if retried,
count as a new submission. A compute restart starts the counters from zero, which Prometheus
treats as a counter reset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram

from cl_client.models import JobEvent
from cl_server.metrics.recent import Recent
from cl_server.store import JobRecord

logger = logging.getLogger(__name__)

JobLookup = Callable[[str], JobRecord | None]
JobsLookup = Callable[[Collection[str]], Mapping[str, JobRecord]]
"""The existing jobs among some ids, by id (``JobStore.get_jobs``)."""

DEFAULT_MEMORY = 100_000
"""Job ids remembered for de-duplication (a few MB at most)."""
TIME_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
"""From a hash of a small photo (tens of ms) to an hour-long video transcode."""

# ``error`` is the old name of ``failed`` (PROTOCOL §3.4); both count as failures.
_TERMINAL = {
    "completed": "completed",
    "failed": "failed",
    "error": "failed",
    "cancelled": "cancelled",
}
_TIMED = {"completed", "failed"}


class JobMetrics:
    """Counters ``cl_jobs_{submitted,completed,failed,cancelled}_total`` and histograms
    ``cl_job_duration_seconds`` and ``cl_job_queue_wait_seconds``, all by ``task_type``.

    ``record`` is called from one thread (the metrics event feed); scrapes read concurrently,
    which prometheus_client makes safe.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        lookup: JobLookup,
        facts_lookup: JobLookup | None = None,
        *,
        batch_lookup: JobsLookup | None = None,
        task_types: Iterable[str] = (),
        memory: int = DEFAULT_MEMORY,
    ) -> None:
        self._lookup = lookup
        # A submission needs only the job's task type, which never changes: a cached record
        # (``compute.created_jobs``) will do where the caller has one.
        self._facts_lookup = facts_lookup or lookup
        self._batch_lookup = batch_lookup
        label = ["task_type"]
        self.submitted = Counter(
            "cl_jobs_submitted", "Jobs accepted by the compute service", label, registry=registry
        )
        self._terminal_counters = {
            "completed": Counter(
                "cl_jobs_completed", "Jobs that completed", label, registry=registry
            ),
            "failed": Counter("cl_jobs_failed", "Jobs that failed", label, registry=registry),
            "cancelled": Counter(
                "cl_jobs_cancelled", "Jobs that were cancelled", label, registry=registry
            ),
        }
        self.duration = Histogram(
            "cl_job_duration_seconds",
            "Run time of completed and failed jobs (completed_at - started_at)",
            label,
            buckets=TIME_BUCKETS_S,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "cl_job_queue_wait_seconds",
            "Time completed and failed jobs waited for a worker (started_at - created_at)",
            label,
            buckets=TIME_BUCKETS_S,
            registry=registry,
        )
        # Every known task type is exported from the start, at zero, so that rate() and absent
        # series behave from the first scrape rather than from each type's first job.
        for task_type in task_types:
            self.submitted.labels(task_type)
            for counter in self._terminal_counters.values():
                counter.labels(task_type)
        # job_id -> task_type of submissions seen; also names the task type of a job whose row
        # was deleted before its terminal event was looked at.
        self._submissions: Recent[str, str] = Recent(memory)
        # job_id -> (status, completed_at) of the last end counted for it.
        self._ends: Recent[str, tuple[str, int | None]] = Recent(memory)
        # job_id -> (status, timestamp) of the last terminal event looked at. Every terminal
        # event is published twice, byte for byte; the repeat needs no row to be recognised.
        self._looked_at: Recent[str, tuple[str, int]] = Recent(memory)

    def record(self, event: JobEvent) -> None:
        self.record_batch([event])

    def record_batch(self, events: Sequence[JobEvent]) -> None:
        """Count ``events`` in order; the rows their ends need are read together."""
        lookup: JobLookup = self._lookup
        if self._batch_lookup is not None:
            wanted = {
                event.job_id
                for event in events
                if event.event_type in _TERMINAL
                and self._looked_at.get(event.job_id) != (event.event_type, event.timestamp)
            }
            if len(wanted) > 1:
                lookup = _prefetched(self._batch_lookup(wanted), wanted, self._lookup)

        for event in events:
            if event.event_type == "queued":
                self._record_submission(event.job_id)
            elif event.event_type in _TERMINAL:
                seen = (event.event_type, event.timestamp)
                if self._looked_at.get(event.job_id) == seen:
                    continue  # the re-published event, or a redelivery
                self._looked_at.put(event.job_id, seen)
                self._record_end(event.job_id, _TERMINAL[event.event_type], lookup)

    def _record_submission(self, job_id: str) -> None:
        if job_id in self._submissions:
            return
        job = self._facts_lookup(job_id)
        if job is None:
            logger.debug("queued job %s no longer exists; not counted", job_id)
            return
        self._submissions.put(job_id, job.task_type)
        self.submitted.labels(job.task_type).inc()

    def _record_end(self, job_id: str, status: str, lookup: JobLookup) -> None:
        job = lookup(job_id)
        if job is None:
            # Deleted already. A deleted job cannot be retried, so one end is all it can have.
            if job_id in self._ends:
                return
            task_type = self._submissions.get(job_id)
            if task_type is None:
                logger.debug("job %s is unknown; %s event not counted", job_id, status)
                return
            self._ends.put(job_id, (status, None))
            self._terminal_counters[status].labels(task_type).inc()
            return
        if _TERMINAL.get(job.status) != status:
            # The job moved on (retried) before this event was looked at; the event that
            # reported this end was counted when it arrived, or the store never recorded it.
            logger.debug("job %s is %s, not %s; event not counted", job_id, job.status, status)
            return
        end = (status, job.completed_at)
        if self._ends.get(job_id) == end:
            return  # the re-published event, or a redelivery
        self._ends.put(job_id, end)
        self._terminal_counters[status].labels(job.task_type).inc()
        if status in _TIMED and job.started_at is not None:
            if job.completed_at is not None:
                self.duration.labels(job.task_type).observe(
                    _seconds(job.completed_at - job.started_at)
                )
            self.queue_wait.labels(job.task_type).observe(_seconds(job.started_at - job.created_at))


def _prefetched(
    rows: Mapping[str, JobRecord], asked: Collection[str], fallback: JobLookup
) -> JobLookup:
    def lookup(job_id: str) -> JobRecord | None:
        # A job asked for and not found was deleted; one not asked for is read now.
        return rows.get(job_id) if job_id in asked else fallback(job_id)

    return lookup


def _seconds(milliseconds: int) -> float:
    # Clocks of different machines may disagree by a little; a negative time is not a time.
    return max(0, milliseconds) / 1000
