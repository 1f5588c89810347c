"""The worker's run supervisor: time limit, lease renewal, held-back progress, long-job notice.

A real SQLite store in a temporary directory stands behind the leases and progress reports.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from cl_server.mqtt.events import EventPublisher
from cl_server.store import JobStore, NewJob
from cl_server.worker.job_run import PROGRESS_INTERVAL_S, JobRun
from cl_server.worker.supervisor import RunSupervisor

WORKER = "test-worker"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore.open(f"sqlite:///{tmp_path / 'jobs.db'}") as opened:
        yield opened


def _supervisor(
    store: JobStore,
    *,
    lease_interval: float = 30,
    limit: float = 30,
    grace: float = 30,
    announce_after: float = 30,
) -> RunSupervisor:
    supervisor = RunSupervisor(
        store,
        worker_id=WORKER,
        lease_interval=lease_interval,
        limit=limit,
        grace=grace,
        announce_after=announce_after,
    )
    supervisor.start()
    return supervisor


def _claimed_run(store: JobStore, tmp_path: Path, publisher: EventPublisher) -> JobRun:
    job_id = str(uuid.uuid4())
    store.create_job(NewJob(job_id, "hash", {}, priority=5, created_at=1))
    [job] = store.claim(WORKER, ["hash"])
    return JobRun(job, tmp_path / job_id, store, publisher)


def _record(calls: list[str], name: str, done: threading.Event | None = None) -> None:
    calls.append(name)
    if done is not None:
        done.set()


def test_a_batch_finishing_in_time_triggers_nothing(store: JobStore) -> None:
    calls: list[str] = []
    supervisor = _supervisor(store)
    try:
        with supervisor.watch(
            [],
            on_lost=lambda _id: calls.append("lost"),
            on_overdue=lambda: calls.append("overdue"),
            on_stuck=lambda: calls.append("stuck"),
            on_long_running=lambda: calls.append("long"),
        ):
            pass
    finally:
        supervisor.stop()
    assert calls == []


def test_overdue_then_stuck_when_the_stop_request_is_ignored(store: JobStore) -> None:
    calls: list[str] = []
    stuck = threading.Event()
    supervisor = _supervisor(store, limit=0.01, grace=0.05)
    try:
        with supervisor.watch(
            [],
            on_lost=lambda _id: calls.append("lost"),
            on_overdue=lambda: calls.append("overdue"),
            on_stuck=lambda: _record(calls, "stuck", stuck),
            on_long_running=lambda: None,
        ):
            assert stuck.wait(10)
    finally:
        supervisor.stop()
    assert calls == ["overdue", "stuck"]


def test_a_lease_taken_away_is_reported_lost_once(store: JobStore, tmp_path: Path) -> None:
    run = _claimed_run(store, tmp_path, MagicMock(spec=EventPublisher))
    lost: list[str] = []
    seen = threading.Event()
    supervisor = _supervisor(store, lease_interval=0.02)
    try:
        with supervisor.watch(
            [run],
            on_lost=lambda job_id: _record(lost, job_id, seen),
            on_overdue=lambda: None,
            on_stuck=lambda: None,
            on_long_running=lambda: None,
        ):
            store.delete_job(run.job.job_id)
            assert seen.wait(10)
            time.sleep(0.1)  # several more renewal rounds: still reported only once
    finally:
        supervisor.stop()
    assert lost == [run.job.job_id]


def test_a_renewed_lease_moves_its_expiry(store: JobStore, tmp_path: Path) -> None:
    run = _claimed_run(store, tmp_path, MagicMock(spec=EventPublisher))
    before = run.job.lease_expires_at
    assert before is not None
    supervisor = _supervisor(store, lease_interval=0.02)
    try:
        with supervisor.watch(
            [run],
            on_lost=lambda _id: None,
            on_overdue=lambda: None,
            on_stuck=lambda: None,
            on_long_running=lambda: None,
        ):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                current = store.get_job(run.job.job_id)
                assert current is not None and current.lease_expires_at is not None
                if current.lease_expires_at > before:
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the lease was never renewed")
    finally:
        supervisor.stop()


def test_held_back_progress_goes_out_when_due(store: JobStore, tmp_path: Path) -> None:
    publisher = MagicMock(spec=EventPublisher)
    run = _claimed_run(store, tmp_path, publisher)
    supervisor = _supervisor(store)
    try:
        with supervisor.watch(
            [run],
            on_lost=lambda _id: None,
            on_overdue=lambda: None,
            on_stuck=lambda: None,
            on_long_running=lambda: None,
        ):
            run.started()
            time.sleep(0.05)  # the supervisor is asleep until its next known deadline (30 s)
            run.report_progress(30)  # too soon after ``processing``: held back, and it must wake
            held = store.get_job(run.job.job_id)
            assert held is not None and held.progress == 0
            publisher.job_event.assert_not_called()
            deadline = time.monotonic() + PROGRESS_INTERVAL_S + 5
            while time.monotonic() < deadline and run.last_progress != 30:
                time.sleep(0.01)
    finally:
        supervisor.stop()
    assert run.last_progress == 30
    sent = store.get_job(run.job.job_id)
    assert sent is not None and sent.progress == 30
    publisher.job_event.assert_called_once_with(run.job.job_id, "processing", 30)


def test_progress_held_when_the_job_ends_is_dropped(store: JobStore, tmp_path: Path) -> None:
    publisher = MagicMock(spec=EventPublisher)
    run = _claimed_run(store, tmp_path, publisher)
    run.started()
    run.report_progress(50)
    run.close_progress()
    assert run.held_progress_due_at() is None
    run.send_held_progress()
    publisher.job_event.assert_not_called()


def test_a_long_batch_is_announced_once(store: JobStore) -> None:
    announced = threading.Event()
    calls: list[str] = []
    supervisor = _supervisor(store, announce_after=0.01)
    try:
        with supervisor.watch(
            [],
            on_lost=lambda _id: None,
            on_overdue=lambda: None,
            on_stuck=lambda: None,
            on_long_running=lambda: _record(calls, "long", announced),
        ):
            assert announced.wait(10)
            time.sleep(0.05)
    finally:
        supervisor.stop()
    assert calls == ["long"]
