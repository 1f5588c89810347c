"""The worker's memory of ``queued`` events it has seen."""

from __future__ import annotations

import threading

from cl_server.worker.queued_sightings import QueuedSightings


def test_seen_jobs_need_no_wait() -> None:
    sightings = QueuedSightings()
    sightings.saw("a")
    sightings.saw("b")
    assert sightings.wait_for(["a", "b"], timeout=0)
    assert sightings.wait_for([], timeout=0)


def test_unseen_job_times_out() -> None:
    sightings = QueuedSightings()
    sightings.saw("a")
    assert not sightings.wait_for(["a", "b"], timeout=0.01)


def test_a_sighting_from_another_thread_ends_the_wait() -> None:
    sightings = QueuedSightings()
    timer = threading.Timer(0.05, sightings.saw, args=("late",))
    timer.start()
    try:
        assert sightings.wait_for(["late"], timeout=10)
    finally:
        timer.cancel()


def test_oldest_sightings_are_forgotten_first() -> None:
    sightings = QueuedSightings(capacity=2)
    for job_id in ("a", "b", "a", "c"):  # "a" seen again, so "b" is now the oldest
        sightings.saw(job_id)
    assert sightings.wait_for(["a", "c"], timeout=0)
    assert not sightings.wait_for(["b"], timeout=0)
