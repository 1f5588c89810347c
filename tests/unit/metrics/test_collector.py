"""Job counters and histograms: what moves them and what must not (duplicates, retries)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from cl_client.models import JobEvent
from cl_server.metrics.collector import JobMetrics
from cl_server.store import JobRecord
from tests.support.prometheus import Samples, parse, total, value


def scrape(registry: CollectorRegistry) -> Samples:
    return parse(generate_latest(registry).decode())


def job(job_id: str, task_type: str = "hash", **changes: object) -> JobRecord:
    record = JobRecord(
        job_id=job_id,
        task_type=task_type,
        status="queued",
        progress=0,
        params={},
        task_output=None,
        error_message=None,
        priority=5,
        created_at=1_000,
        updated_at=None,
        started_at=None,
        completed_at=None,
        attempt=0,
        leased_by=None,
        lease_expires_at=None,
    )
    return replace(record, **changes)  # pyright: ignore[reportArgumentType]


def event(job_id: str, event_type: str, timestamp: int = 1) -> JobEvent:
    return JobEvent(job_id=job_id, event_type=event_type, timestamp=timestamp, progress=0)


class Jobs:
    """A stand-in for the job store's ``get_job`` and ``get_jobs``: the rows as the test sets
    them."""

    def __init__(self) -> None:
        self.rows: dict[str, JobRecord] = {}
        self.lookups = 0
        self.batch_lookups: list[set[str]] = []

    def get(self, job_id: str) -> JobRecord | None:
        self.lookups += 1
        return self.rows.get(job_id)

    def get_many(self, job_ids: Collection[str]) -> dict[str, JobRecord]:
        self.batch_lookups.append(set(job_ids))
        return {job_id: self.rows[job_id] for job_id in job_ids if job_id in self.rows}


def make_metrics(jobs: Jobs, **kwargs: int) -> tuple[JobMetrics, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = JobMetrics(
        registry, jobs.get, batch_lookup=jobs.get_many, task_types=["hash", "exif"], **kwargs
    )
    return metrics, registry


def test_the_ends_of_a_batch_are_read_in_one_lookup() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", status="completed", started_at=1_000, completed_at=2_000)
    jobs.rows["b"] = job("b", "exif", status="failed", started_at=1_000, completed_at=1_500)
    jobs.rows["c"] = job("c", status="completed", started_at=1_000, completed_at=1_200)
    metrics.record(event("c", "completed", timestamp=7))
    jobs.lookups = 0
    metrics.record_batch(
        [
            event("a", "processing"),
            event("a", "completed"),
            event("b", "failed"),
            event("c", "completed", timestamp=7),  # the re-publication: needs no row
            event("gone", "completed"),  # deleted (and never seen): read, found missing
        ]
    )
    assert jobs.batch_lookups == [{"a", "b", "gone"}]
    assert jobs.lookups == 0, "no row is read one by one"
    samples = scrape(registry)
    assert value(samples, "cl_jobs_completed_total", task_type="hash") == 2
    assert value(samples, "cl_jobs_failed_total", task_type="exif") == 1
    assert value(samples, "cl_job_duration_seconds_sum", task_type="hash") == pytest.approx(1.2)
    assert total(samples, "cl_jobs_completed_total") == 2


def test_known_task_types_start_at_zero() -> None:
    _, registry = make_metrics(Jobs())
    samples = scrape(registry)
    for name in ("submitted", "completed", "failed", "cancelled"):
        assert (f"cl_jobs_{name}_total", (("task_type", "exif"),)) in samples
        assert value(samples, f"cl_jobs_{name}_total", task_type="hash") == 0


def test_a_job_is_submitted_once_however_often_it_is_queued() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a")
    jobs.rows["b"] = job("b", "exif")
    for name in ("a", "b", "a"):  # "a" again: a requeue after its lease expired
        metrics.record(event(name, "queued"))
    samples = scrape(registry)
    assert value(samples, "cl_jobs_submitted_total", task_type="hash") == 1
    assert value(samples, "cl_jobs_submitted_total", task_type="exif") == 1
    assert jobs.lookups == 2, "a known job id needs no database read"


def test_the_republished_terminal_event_is_not_counted_twice() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", status="completed", started_at=1_500, completed_at=4_000)
    metrics.record(event("a", "processing"))  # moves nothing
    metrics.record(event("a", "completed"))
    metrics.record(event("a", "completed"))  # the re-publication ~1 s later, byte for byte
    assert jobs.lookups == 1, "the re-publication is recognised without a database read"
    samples = scrape(registry)
    assert value(samples, "cl_jobs_completed_total", task_type="hash") == 1
    assert value(samples, "cl_job_duration_seconds_count", task_type="hash") == 1
    assert value(samples, "cl_job_duration_seconds_sum", task_type="hash") == 2.5
    assert value(samples, "cl_job_queue_wait_seconds_sum", task_type="hash") == 0.5
    # 2.5 s falls in the 2.5 bucket (le is inclusive), not in the 1 s one.
    assert value(samples, "cl_job_duration_seconds_bucket", task_type="hash", le="1.0") == 0
    assert value(samples, "cl_job_duration_seconds_bucket", task_type="hash", le="2.5") == 1
    assert value(samples, "cl_job_queue_wait_seconds_bucket", task_type="hash", le="0.5") == 1


def test_a_retried_job_that_ends_again_is_counted_again() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", status="failed", started_at=1_000, completed_at=2_000)
    metrics.record(event("a", "failed"))
    metrics.record(event("a", "failed"))
    # Retried: a new run ends with a new completed_at.
    jobs.rows["a"] = job("a", status="completed", started_at=5_000, completed_at=5_200)
    metrics.record(event("a", "queued"))
    metrics.record(event("a", "completed", timestamp=5_200))
    metrics.record(event("a", "completed", timestamp=5_200))
    # Ended again, its queued event missed: a new event (a new timestamp) is looked at.
    jobs.rows["a"] = job("a", status="completed", started_at=9_000, completed_at=9_100)
    metrics.record(event("a", "completed", timestamp=9_100))
    samples = scrape(registry)
    assert value(samples, "cl_jobs_failed_total", task_type="hash") == 1
    assert value(samples, "cl_jobs_completed_total", task_type="hash") == 2
    assert value(samples, "cl_job_duration_seconds_count", task_type="hash") == 3


def test_an_event_the_row_no_longer_agrees_with_is_dropped() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    # The failure was already followed by a retry when its event was looked at.
    jobs.rows["a"] = job("a", status="processing", started_at=3_000)
    metrics.record(event("a", "failed"))
    assert value(scrape(registry), "cl_jobs_failed_total", task_type="hash") == 0


def test_error_is_a_failure_and_cancelled_has_no_run_time() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", status="failed", started_at=1_000, completed_at=1_100)
    jobs.rows["b"] = job("b", "exif", status="cancelled", started_at=1_000, completed_at=1_300)
    metrics.record(event("a", "error"))
    metrics.record(event("a", "failed"))  # the same end, under the current name
    metrics.record(event("b", "cancelled"))
    metrics.record(event("b", "cancelled"))
    samples = scrape(registry)
    assert value(samples, "cl_jobs_failed_total", task_type="hash") == 1
    assert value(samples, "cl_jobs_cancelled_total", task_type="exif") == 1
    assert value(samples, "cl_job_duration_seconds_count", task_type="exif") == 0
    assert value(samples, "cl_job_duration_seconds_count", task_type="hash") == 1


def test_a_deleted_job_counts_once_under_the_type_seen_at_submission() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", "exif")
    metrics.record(event("a", "queued"))
    del jobs.rows["a"]  # DELETE /jobs/a before the terminal event was looked at
    metrics.record(event("a", "completed"))
    metrics.record(event("a", "completed"))
    metrics.record(event("ghost", "completed"))  # never seen: no task type to count it under
    samples = scrape(registry)
    assert value(samples, "cl_jobs_completed_total", task_type="exif") == 1
    assert value(samples, "cl_job_duration_seconds_count", task_type="exif") == 0
    assert total(samples, "cl_jobs_completed_total") == 1


def test_a_job_deleted_after_its_end_was_counted_is_not_counted_again() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", status="completed", started_at=1_000, completed_at=1_100)
    metrics.record(event("a", "queued"))
    metrics.record(event("a", "completed"))
    del jobs.rows["a"]
    metrics.record(event("a", "completed"))  # the re-publication finds no row any more
    assert value(scrape(registry), "cl_jobs_completed_total", task_type="hash") == 1


def test_memory_is_bounded() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs, memory=2)
    for name in ("a", "b", "c"):
        jobs.rows[name] = job(name)
        metrics.record(event(name, "queued"))
    # "a" was forgotten, so a later requeue of it looks like a new submission: the documented
    # price of bounded memory.
    metrics.record(event("a", "queued"))
    metrics.record(event("c", "queued"))
    assert value(scrape(registry), "cl_jobs_submitted_total", task_type="hash") == 4


def test_clock_skew_never_observes_a_negative_time() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    # A worker whose clock is behind the compute service's: started before it was created.
    jobs.rows["a"] = job("a", status="completed", started_at=900, completed_at=950)
    metrics.record(event("a", "completed"))
    samples = scrape(registry)
    assert value(samples, "cl_job_queue_wait_seconds_sum", task_type="hash") == 0
    assert value(samples, "cl_job_queue_wait_seconds_bucket", task_type="hash", le="0.05") == 1


def test_unknown_task_types_get_their_own_series() -> None:
    jobs = Jobs()
    metrics, registry = make_metrics(jobs)
    jobs.rows["a"] = job("a", "some_plugin")
    metrics.record(event("a", "queued"))
    assert value(scrape(registry), "cl_jobs_submitted_total", task_type="some_plugin") == 1
