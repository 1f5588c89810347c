"""``cl_queue_depth``: one GROUP BY over a real SQLite job store, zeros for idle task types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cl_server.metrics.queue_depth import QueueDepthCollector, count_by_task_and_status
from cl_server.store import JobStore, NewJob


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore.open(f"sqlite:///{tmp_path / 'compute.db'}") as opened:
        yield opened


def add(store: JobStore, job_id: str, task_type: str) -> None:
    store.create_job(
        NewJob(job_id=job_id, task_type=task_type, params={}, priority=5, created_at=1)
    )


def test_counts_only_open_jobs_by_task_type_and_status(store: JobStore) -> None:
    for n in range(3):
        add(store, f"h{n}", "hash")
    add(store, "e0", "exif")
    add(store, "e1", "exif")
    [claimed] = store.claim("w", ["exif"])
    add(store, "done", "exif")
    [finished] = store.claim("w", ["exif"])
    assert store.complete(finished.job_id, finished.attempt, {})
    assert claimed.job_id != finished.job_id
    assert count_by_task_and_status(store.engine) == {
        ("hash", "queued"): 3,
        ("exif", "processing"): 1,
        ("exif", "queued"): 1,
    }


def test_collector_reports_zero_for_known_idle_types(store: JobStore) -> None:
    add(store, "x", "some_plugin")
    registry = CollectorRegistry()
    registry.register(QueueDepthCollector(store.engine, ["hash"]))
    [family] = text_string_to_metric_families(generate_latest(registry).decode())
    assert family.name == "cl_queue_depth"
    assert family.type == "gauge"
    assert {(s.labels["task_type"], s.labels["status"]): s.value for s in family.samples} == {
        ("hash", "queued"): 0,
        ("hash", "processing"): 0,
        ("some_plugin", "queued"): 1,
        ("some_plugin", "processing"): 0,
    }
