"""The worker directory behind ``GET /workers``: states, departures, bounds, listeners and what a
reconnect to the broker does to it."""

from __future__ import annotations

import json
import queue

import pytest

from cl_client.models import WorkerInfo
from cl_server.mqtt.capabilities import CapabilityTracker
from cl_server.mqtt.departed import DepartedWorkers

HOUR_MS = 3_600_000


class Clock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def message(
    worker_id: str, *, timestamp: int = 500, jobs: list[str] | None = None, **extra: object
) -> bytes:
    body: dict[str, object] = {
        "worker_id": worker_id,
        "capabilities": ["hash", "exif"],
        "idle_count": 0 if jobs else 1,
        "timestamp": timestamp,
        "host": "box",
        "pid": 42,
        "started_at": 100,
        "models": [],
        "current_job_ids": jobs or [],
        "jobs_done": 0,
        "jobs_failed": 0,
        **extra,
    }
    return json.dumps(body).encode()


def topic(worker_id: str) -> str:
    return f"inference/workers/{worker_id}"


class Heard:
    """A listener that keeps what it was told, for waiting on changes made by other threads."""

    def __init__(self) -> None:
        self.changes: queue.Queue[WorkerInfo] = queue.Queue()

    def __call__(self, info: WorkerInfo) -> None:
        self.changes.put(info)

    def next(self, timeout: float = 5.0) -> WorkerInfo:
        return self.changes.get(timeout=timeout)

    def all(self) -> list[tuple[str, str]]:
        told: list[tuple[str, str]] = []
        while not self.changes.empty():
            info = self.changes.get_nowait()
            told.append((info.worker_id, info.state))
        return told


def test_connected_workers_are_idle_or_busy_with_their_advertised_details() -> None:
    tracker = CapabilityTracker(clock=Clock())
    tracker.handle_message(topic("b"), message("b", timestamp=700, jobs=["j1", "j2"]))
    tracker.handle_message(
        topic("a"),
        message(
            "a",
            timestamp=600,
            models=["mobileclip-s2"],
            execution_provider="CPUExecutionProvider",
            unavailable={"dino_embedding": "no model"},
            jobs_done=7,
            jobs_failed=2,
        ),
    )
    a, b = tracker.workers()
    assert a == WorkerInfo(
        worker_id="a",
        state="idle",
        host="box",
        pid=42,
        task_types=["hash", "exif"],
        unavailable={"dino_embedding": "no model"},
        models=["mobileclip-s2"],
        execution_provider="CPUExecutionProvider",
        current_job_id=None,
        current_job_ids=[],
        jobs_done=7,
        jobs_failed=2,
        started_at=100,
        last_seen=600,
    )
    assert (b.state, b.current_job_id, b.current_job_ids, b.last_seen) == (
        "busy",
        "j1",
        ["j1", "j2"],
        700,
    )


def test_a_worker_that_leaves_is_listed_as_gone_after_the_connected_ones() -> None:
    clock = Clock()
    tracker = CapabilityTracker(clock=clock)
    for worker_id in ("c", "a", "b"):
        tracker.handle_message(topic(worker_id), message(worker_id, jobs=["j"]))
    clock.now = 2_000_000
    tracker.handle_message(topic("a"), b"")
    tracker.handle_message(topic("nobody"), b"")  # never known: ignored
    listed = [(w.worker_id, w.state) for w in tracker.workers()]
    assert listed == [("b", "busy"), ("c", "busy"), ("a", "gone")]
    gone = tracker.workers()[-1]
    assert gone.last_seen == 2_000_000, "last_seen of a gone worker is when it left"
    assert gone.current_job_ids == [] and gone.current_job_id is None
    assert tracker.summary().num_workers == 2


def test_gone_workers_are_kept_for_an_hour_and_a_returning_one_is_not_gone() -> None:
    clock = Clock()
    tracker = CapabilityTracker(clock=clock)
    tracker.handle_message(topic("a"), message("a"))
    tracker.handle_message(topic("b"), message("b"))
    tracker.handle_message(topic("a"), b"")
    tracker.handle_message(topic("b"), b"")
    clock.now += HOUR_MS
    assert [w.worker_id for w in tracker.workers()] == ["a", "b"]
    tracker.handle_message(topic("b"), message("b", timestamp=clock.now))  # restarted, same id
    clock.now += 1
    assert [(w.worker_id, w.state) for w in tracker.workers()] == [("b", "idle")]


def test_departed_workers_are_capped_dropping_the_earliest_departures() -> None:
    departed = DepartedWorkers(retention_ms=HOUR_MS, max_entries=3)
    for n in range(5):
        departed.add(WorkerInfo(worker_id=f"w{n}", state="gone", last_seen=n), now=10)
    assert [w.worker_id for w in departed.list(now=10)] == ["w2", "w3", "w4"]


def test_listeners_hear_every_change_but_not_a_heartbeat() -> None:
    tracker = CapabilityTracker(clock=Clock())
    heard = Heard()
    tracker.add_listener(heard)
    tracker.handle_message(topic("a"), message("a", timestamp=1))  # new
    tracker.handle_message(topic("a"), message("a", timestamp=2))  # heartbeat only
    tracker.handle_message(topic("a"), message("a", timestamp=3, jobs=["j"]))  # busy
    tracker.handle_message(topic("a"), message("a", timestamp=4, jobs=["j"]))  # heartbeat only
    tracker.handle_message(topic("a"), message("a", timestamp=5, jobs_done=1))  # idle, counter
    tracker.handle_message(topic("a"), b"{broken")
    tracker.handle_message(topic("a"), b"")  # gone
    tracker.handle_message(topic("a"), b"")  # already gone: nothing new
    assert heard.all() == [("a", "idle"), ("a", "busy"), ("a", "idle"), ("a", "gone")]


def test_a_broken_listener_does_not_silence_the_others_and_listeners_may_read() -> None:
    tracker = CapabilityTracker(clock=Clock())
    read_back: list[list[str]] = []

    def broken(_info: WorkerInfo) -> None:
        raise RuntimeError("listener bug")

    def reader(_info: WorkerInfo) -> None:
        # Runs outside the directory's lock, so reading it from a listener cannot deadlock.
        read_back.append([w.worker_id for w in tracker.workers()])

    tracker.add_listener(broken)
    tracker.add_listener(reader)
    tracker.handle_message(topic("a"), message("a"))
    assert read_back == [["a"]]


def test_a_reconnect_keeps_replayed_workers_and_marks_only_the_rest_gone() -> None:
    clock = Clock()
    tracker = CapabilityTracker(clock=clock, replay_grace_s=0.2)
    heard = Heard()
    tracker.handle_message(topic("stays"), message("stays", jobs=["j"]))
    tracker.handle_message(topic("vanished"), message("vanished"))
    tracker.add_listener(heard)
    clock.now = 1_500_000
    tracker.forget_all()  # what MqttConnection does on every (re)connect
    # /capabilities counts only what this session heard; /workers still shows the old view.
    assert tracker.summary().num_workers == 0
    assert [(w.worker_id, w.state) for w in tracker.workers()] == [
        ("stays", "busy"),
        ("vanished", "idle"),
    ]
    clock.now = 1_500_010
    tracker.handle_message(topic("stays"), message("stays", jobs=["j"]))  # the broker's replay
    assert tracker.summary().num_workers == 1
    gone = heard.next()  # the grace period ended in the timer's thread
    assert (gone.worker_id, gone.state, gone.last_seen) == ("vanished", "gone", 1_500_000)
    assert heard.all() == [], "the replayed worker did not change, so nobody was told"
    assert [(w.worker_id, w.state) for w in tracker.workers()] == [
        ("stays", "busy"),
        ("vanished", "gone"),
    ]


def test_a_worker_heard_after_the_grace_comes_back() -> None:
    tracker = CapabilityTracker(clock=Clock(), replay_grace_s=0.01)
    heard = Heard()
    tracker.add_listener(heard)
    tracker.handle_message(topic("slow"), message("slow"))
    assert heard.next().state == "idle"
    tracker.forget_all()
    assert heard.next().state == "gone"
    # After a broker restart that lost retained messages the worker re-announces by itself.
    tracker.handle_message(topic("slow"), message("slow"))
    assert heard.next().state == "idle"
    assert [(w.worker_id, w.state) for w in tracker.workers()] == [("slow", "idle")]


def test_close_cancels_a_pending_grace_period() -> None:
    tracker = CapabilityTracker(clock=Clock(), replay_grace_s=0.05)
    tracker.handle_message(topic("a"), message("a"))
    heard = Heard()
    tracker.add_listener(heard)
    tracker.forget_all()
    tracker.close()
    with pytest.raises(queue.Empty):  # absence can only be shown by waiting past the grace
        heard.next(timeout=0.3)
    assert [(w.worker_id, w.state) for w in tracker.workers()] == [("a", "idle")]
