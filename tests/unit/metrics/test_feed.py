"""The MQTT side of the metrics: parse, keep only what moves a metric, count on one thread,
in batches."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from cl_client.models import JobEvent
from cl_server.metrics.feed import EventFeed


def payload(job_id: str, event_type: str, progress: int = 0) -> bytes:
    return (
        JobEvent(job_id=job_id, event_type=event_type, timestamp=1, progress=progress)
        .model_dump_json()
        .encode()
    )


def test_feed_passes_submissions_and_ends_in_order_and_drops_the_rest() -> None:
    seen: list[tuple[str, str, str]] = []

    def record(batch: Sequence[JobEvent]) -> None:
        name = threading.current_thread().name
        seen.extend((e.job_id, e.event_type, name) for e in batch)

    feed = EventFeed(record)
    feed.handle_message("inference/events", payload("a", "queued"))
    feed.handle_message("inference/events", payload("a", "processing", 40))
    feed.handle_message("inference/events", b"{not json")
    feed.handle_message("inference/events", b'{"job_id": "a"}')  # no timestamp: not an event
    feed.handle_message("inference/events", payload("a", "completed", 100))
    feed.handle_message("inference/events", payload("b", "cancelled"))
    feed.close()
    assert seen == [
        ("a", "queued", "metrics-feed"),
        ("a", "completed", "metrics-feed"),
        ("b", "cancelled", "metrics-feed"),
    ]


def test_events_that_arrive_within_the_window_are_counted_together() -> None:
    batches: list[list[str]] = []
    feed = EventFeed(lambda batch: batches.append([e.job_id for e in batch]), batch_window_s=0.5)
    for job_id in ("a", "b", "c"):
        feed.handle_message("inference/events", payload(job_id, "completed", 100))
    feed.close()
    assert batches == [["a", "b", "c"]]


def test_a_failing_count_does_not_stop_the_feed() -> None:
    seen: list[str] = []
    failed = threading.Event()

    def record(batch: Sequence[JobEvent]) -> None:
        if any(event.job_id == "bad" for event in batch):
            failed.set()
            raise RuntimeError("database went away")
        seen.extend(event.job_id for event in batch)

    feed = EventFeed(record, batch_window_s=0)
    feed.handle_message("inference/events", payload("bad", "queued"))
    assert failed.wait(5)
    feed.handle_message("inference/events", payload("good", "queued"))
    feed.close()
    assert seen == ["good"]
