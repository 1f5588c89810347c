"""The MQTT side of the metrics: parse, keep only what moves a metric, count on one thread."""

from __future__ import annotations

import threading

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
    feed = EventFeed(
        lambda e: seen.append((e.job_id, e.event_type, threading.current_thread().name))
    )
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


def test_a_failing_count_does_not_stop_the_feed() -> None:
    seen: list[str] = []

    def record(event: JobEvent) -> None:
        if event.job_id == "bad":
            raise RuntimeError("database went away")
        seen.append(event.job_id)

    feed = EventFeed(record)
    feed.handle_message("inference/events", payload("bad", "queued"))
    feed.handle_message("inference/events", payload("good", "queued"))
    feed.close()
    assert seen == ["good"]
