from __future__ import annotations

import json

from cl_server.mqtt.capabilities import CapabilityTracker


def _message(worker_id: str, tasks: list[str], idle: int) -> bytes:
    return json.dumps(
        {"worker_id": worker_id, "capabilities": tasks, "idle_count": idle, "timestamp": 1}
    ).encode()


def test_summary_sums_idle_counts_and_forgets_empty_payloads() -> None:
    tracker = CapabilityTracker()
    tracker.handle_message("inference/workers/a", _message("a", ["hash", "exif"], 1))
    tracker.handle_message("inference/workers/b", _message("b", ["hash"], 0))
    summary = tracker.summary()
    assert summary.num_workers == 2
    assert summary.capabilities == {"hash": 1, "exif": 1}

    tracker.handle_message("inference/workers/a", b"")
    summary = tracker.summary()
    assert summary.num_workers == 1
    assert summary.capabilities == {"hash": 0}


def test_malformed_messages_are_ignored() -> None:
    tracker = CapabilityTracker()
    tracker.handle_message("inference/workers/x", b"{not json")
    tracker.handle_message("inference/workers/y", b'{"worker_id": "y"}')
    assert tracker.summary().num_workers == 0


def test_forget_all_empties_the_view() -> None:
    tracker = CapabilityTracker()
    tracker.handle_message("inference/workers/a", _message("a", ["hash"], 1))
    tracker.forget_all()
    assert tracker.summary().num_workers == 0
    tracker.handle_message("inference/workers/a", _message("a", ["hash"], 1))
    assert tracker.summary().capabilities == {"hash": 1}
