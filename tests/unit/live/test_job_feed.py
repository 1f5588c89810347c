"""MQTT job events into the hub, with owner and task type read from a real job store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cl_server.live.hub import EventHub
from cl_server.live.job_feed import JobEventFeed
from cl_server.store import JobRecord, JobStore, NewJob


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore.open(f"sqlite:///{tmp_path / 'compute.db'}") as opened:
        yield opened


def payload(job_id: str, event_type: str = "queued") -> bytes:
    event = {"job_id": job_id, "event_type": event_type, "timestamp": 5, "progress": 0}
    return json.dumps(event).encode()


def test_events_carry_the_owner_and_task_type_and_stay_in_order(store: JobStore) -> None:
    store.create_job(
        NewJob(job_id="j1", task_type="hash", params={}, priority=5, created_at=1, created_by="7")
    )
    hub = EventHub(first_seq=1)
    lookups: list[str] = []

    def lookup(job_id: str) -> JobRecord | None:
        lookups.append(job_id)
        return store.get_job(job_id)

    feed = JobEventFeed(hub, lookup)
    feed.start()
    feed.handle_message("inference/events", payload("j1"))
    feed.handle_message("inference/events", b"{not json")
    feed.handle_message("inference/events", payload("j1", "processing"))
    feed.handle_message("inference/events", payload("gone"))
    feed.close()

    events = hub.after(0).events
    assert [e.owner for e in events] == ["7", "7", None]
    first, second, unknown = (json.loads(e.data) for e in events)
    assert first == {
        "job_id": "j1",
        "event_type": "queued",
        "timestamp": 5,
        "progress": 0,
        "task_type": "hash",
    }
    assert second["event_type"] == "processing"
    assert unknown["task_type"] is None
    assert lookups == ["j1", "gone"]  # the owner of j1 was read once
