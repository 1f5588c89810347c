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


def _with_unavailable(worker_id: str, tasks: list[str], unavailable: dict[str, str]) -> bytes:
    message = json.loads(_message(worker_id, tasks, 1))
    message["unavailable"] = unavailable
    return json.dumps(message).encode()


MISSING_CLIP = "model 'mobileclip-s2' not found; run `cl-server models pull mobileclip-s2`"


def test_unavailable_lists_task_types_no_worker_serves_with_each_workers_reason() -> None:
    tracker = CapabilityTracker()
    tracker.handle_message(
        "inference/workers/w2", _with_unavailable("w2", ["hash"], {"clip_embedding": "gone"})
    )
    tracker.handle_message(
        "inference/workers/w1",
        _with_unavailable(
            "w1", ["hash"], {"clip_embedding": MISSING_CLIP, "dino_embedding": "no dino"}
        ),
    )
    summary = tracker.summary()
    assert summary.capabilities == {"hash": 2}
    assert summary.unavailable == {
        "clip_embedding": f"w1: {MISSING_CLIP}; w2: gone",
        "dino_embedding": "w1: no dino",
    }
    assert tracker.waiting_reason("clip_embedding") == (
        f"no connected worker serves clip_embedding: w1: {MISSING_CLIP}; w2: gone"
    )
    assert tracker.waiting_reason("hash") is None


def test_a_task_type_another_worker_serves_is_not_unavailable() -> None:
    tracker = CapabilityTracker()
    tracker.handle_message(
        "inference/workers/a", _with_unavailable("a", ["hash"], {"clip_embedding": MISSING_CLIP})
    )
    tracker.handle_message("inference/workers/b", _message("b", ["clip_embedding"], 0))
    assert tracker.summary().unavailable == {}
    assert tracker.waiting_reason("clip_embedding") is None  # busy, but it will come


def test_waiting_reason_without_workers_or_for_a_type_nobody_was_started_for() -> None:
    tracker = CapabilityTracker()
    assert tracker.waiting_reason("exif") == (
        "no connected worker serves exif: no worker is connected "
        "(start one with `cl-server worker`)"
    )
    tracker.handle_message("inference/workers/a", _message("a", ["hash"], 1))
    reason = tracker.waiting_reason("exif")
    assert reason is not None
    assert reason.startswith("no connected worker serves exif: the connected workers were not")
    assert "cl-server worker --tasks exif" in reason


def test_messages_without_the_new_fields_still_parse() -> None:
    tracker = CapabilityTracker()
    tracker.handle_message("inference/workers/a", _message("a", ["hash"], 1))
    assert tracker.summary().unavailable == {}
