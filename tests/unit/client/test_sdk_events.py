"""Event routing, replay buffer and the MQTT monitor's message handling (no broker, no sockets)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from cl_client import JobResponse, MQTTJobMonitor, WorkerCapability, WorkerUnavailableError
from cl_client.event_router import (
    EventReplayBuffer,
    JobEventRouter,
    JobSubscription,
    job_from_event,
    status_rank,
)
from cl_client.models import JobEvent


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def event(job_id: str, event_type: str, progress: int = 0, ts: int = 1) -> JobEvent:
    return JobEvent(job_id=job_id, event_type=event_type, progress=progress, timestamp=ts)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, bool]] = []

    def __call__(self, sub: JobSubscription, job: JobResponse, terminal: bool) -> None:
        self.calls.append((sub.subscription_id, job.status, job.progress, terminal))


def test_status_rank_orders_lifecycle() -> None:
    assert status_rank("queued") < status_rank("processing") < status_rank("completed")
    assert status_rank("failed") == status_rank("error") == status_rank("completed")
    assert status_rank("something-new") == status_rank("processing")


def test_synthetic_job_from_event() -> None:
    job = job_from_event(event("j1", "processing", 42, ts=123), "hash")
    assert (job.job_id, job.task_type, job.status, job.progress) == ("j1", "hash", "processing", 42)
    assert job.created_at == 123 and job.params == {} and job.task_output is None
    assert job.priority == 5 and job.error_message is None and job.completed_at is None


def test_events_routed_by_job_id_in_order() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    a = JobSubscription(job_id="a")
    b = JobSubscription(job_id="b")
    router.subscribe(a)
    router.subscribe(b)
    router.publish(event("a", "queued"))
    router.publish(event("b", "processing", 10))
    router.publish(event("a", "processing", 50))
    router.publish(event("c", "completed", 100))
    router.publish(event("a", "completed", 100))
    assert recorder.calls == [
        (a.subscription_id, "queued", 0, False),
        (b.subscription_id, "processing", 10, False),
        (a.subscription_id, "processing", 50, False),
        (a.subscription_id, "completed", 100, True),
    ]


def test_terminal_delivered_once_despite_duplicates() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    sub = JobSubscription(job_id="j")
    router.subscribe(sub)
    for e in (event("j", "processing", 10), event("j", "failed", 10), event("j", "failed", 10)):
        router.publish(e)
    router.publish(event("j", "completed", 100))  # nothing after a terminal state
    assert [c[1] for c in recorder.calls] == ["processing", "failed"]
    assert sub.completed


def test_error_status_is_terminal() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    router.subscribe(JobSubscription(job_id="j"))
    router.publish(event("j", "error", 3))
    assert recorder.calls[0][1:] == ("error", 3, True)


def test_stale_and_repeated_states_are_skipped() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    router.subscribe(JobSubscription(job_id="j"))
    router.publish(event("j", "processing", 40))
    router.publish(event("j", "processing", 40))  # repeat
    router.publish(event("j", "processing", 20))  # older
    router.publish(event("j", "queued"))  # older status
    router.publish(event("j", "processing", 60))
    assert [c[2] for c in recorder.calls] == [40, 60]


def test_replay_buffer_serves_late_subscription() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    router.publish(event("fast", "queued"))
    router.publish(event("fast", "processing"))
    router.publish(event("fast", "completed", 100))
    router.publish(event("fast", "completed", 100))  # the server's deliberate re-publication
    sub = JobSubscription(job_id="fast")
    router.subscribe(sub)
    assert [(c[1], c[3]) for c in recorder.calls] == [
        ("queued", False),
        ("processing", False),
        ("completed", True),
    ]
    # A second subscription to the same job gets its own replay, again exactly once.
    second = JobSubscription(job_id="fast")
    router.subscribe(second)
    assert sum(1 for c in recorder.calls if c[0] == second.subscription_id and c[3]) == 1


def test_replay_buffer_expires_by_age_and_size() -> None:
    clock = FakeClock()
    buffer = EventReplayBuffer(max_age=30.0, max_events=3, clock=clock)
    buffer.append(event("old", "queued"))
    clock.now += 31
    buffer.append(event("j", "queued"))
    assert buffer.events_for("old") == []
    for progress in (1, 2, 3):
        buffer.append(event("j", "processing", progress))
    assert len(buffer) == 3
    assert [e.progress for e in buffer.events_for("j")] == [1, 2, 3]
    clock.now += 29.9
    assert len(buffer.events_for("j")) == 3
    clock.now += 1
    assert buffer.events_for("j") == [] and len(buffer) == 0


def test_unsubscribe_stops_delivery() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    sub = JobSubscription(job_id="j")
    router.subscribe(sub)
    assert router.unsubscribe(sub.subscription_id) is True
    assert router.unsubscribe(sub.subscription_id) is False
    router.publish(event("j", "completed", 100))
    assert recorder.calls == []
    assert router.get(sub.subscription_id) is None


def test_snapshots_route_full_jobs_and_listeners() -> None:
    recorder = Recorder()
    router = JobEventRouter(recorder)
    seen: list[str] = []
    router.publish(event("j", "queued"))
    token = router.add_listener("j", lambda job: seen.append(job.status))
    assert seen == ["queued"]  # buffered state replayed to the listener
    sub = JobSubscription(job_id="j", task_type="hash")
    router.subscribe(sub)
    snapshot = JobResponse(
        job_id="j",
        task_type="hash",
        status="completed",
        progress=100,
        created_at=5,
        task_output={"media_type": "image"},
    )
    router.publish_snapshot(snapshot)
    assert seen == ["queued", "completed"]
    assert recorder.calls[-1][1:] == ("completed", 100, True)
    router.remove_listener("j", token)
    router.remove_listener("j", token)
    router.remove_listener("unknown", 1)
    router.publish(event("j", "completed", 100))
    assert seen == ["queued", "completed"]


# ---------------------------------------------------------------------- monitor (offline)


def offline_monitor() -> MQTTJobMonitor:
    return MQTTJobMonitor("localhost", 1, connect=False)


def capability(worker_id: str, tasks: list[str], idle: int) -> bytes:
    body = {"worker_id": worker_id, "capabilities": tasks, "idle_count": idle, "timestamp": 1}
    return json.dumps(body).encode()


def test_monitor_defaults_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT_BROKER", "envhost")
    monkeypatch.setenv("MQTT_PORT", "1999")
    monitor = MQTTJobMonitor(connect=False)
    assert (monitor.broker, monitor.port) == ("envhost", 1999)
    assert monitor._connected is False and monitor.connected is False
    monitor.close()
    monitor.close()


def test_worker_map_updates_and_empty_payload_removes() -> None:
    monitor = offline_monitor()
    updates: list[tuple[str, WorkerCapability | None]] = []
    monitor.subscribe_worker_updates(lambda w, c: updates.append((w, c)))
    monitor.handle_message("inference/workers/w1", capability("w1", ["hash", "exif"], 1))
    monitor.handle_message("inference/workers/w2", capability("w2", ["hash"], 0))
    caps = monitor.get_worker_capabilities()
    assert set(caps) == {"w1", "w2"} and caps["w1"].capabilities == ["hash", "exif"]
    assert monitor.idle_capabilities() == {"hash": 1, "exif": 1}
    caps.clear()  # a copy: the monitor's map is untouched
    assert len(monitor.get_worker_capabilities()) == 2
    monitor.handle_message("inference/workers/w1", b"")
    monitor.handle_message("inference/workers/w1", b"")  # already gone: no second callback
    assert set(monitor.get_worker_capabilities()) == {"w2"}
    assert [(w, c is None) for w, c in updates] == [("w1", False), ("w2", False), ("w1", True)]


def test_malformed_messages_are_ignored() -> None:
    monitor = offline_monitor()
    calls: list[JobResponse] = []
    monitor.subscribe_job_updates("j", on_progress=calls.append)
    monitor.handle_message("inference/events", b'{"job_id": "j", "event_type": "queued"}')  # no ts
    monitor.handle_message("inference/events", b"not json")
    monitor.handle_message("inference/workers/w", b'{"worker_id": "w"}')
    monitor.handle_message("some/other/topic", b"x")
    assert calls == [] and monitor.get_worker_capabilities() == {}


def test_sync_callbacks_without_loop_run_inline(caplog: pytest.LogCaptureFixture) -> None:
    monitor = offline_monitor()
    progress: list[tuple[str, int, str]] = []
    complete: list[str] = []

    async def async_cb(job: JobResponse) -> None:  # needs a loop: dropped with a warning
        complete.append("async")

    def boom(job: JobResponse) -> None:
        raise RuntimeError("callback bug")

    sub_id = monitor.subscribe_job_updates(
        "j",
        on_progress=lambda j: progress.append((j.status, j.progress, j.task_type)),
        on_complete=lambda j: complete.append(j.status),
        task_type="hash",
    )
    monitor.subscribe_job_updates("j", on_progress=boom, on_complete=async_cb)
    with caplog.at_level(logging.WARNING):
        monitor.handle_message(
            "inference/events",
            json.dumps(
                {"job_id": "j", "event_type": "processing", "progress": 30, "timestamp": 9}
            ).encode(),
        )
        monitor.handle_message(
            "inference/events",
            json.dumps(
                {"job_id": "j", "event_type": "completed", "progress": 100, "timestamp": 10}
            ).encode(),
        )
    assert progress == [("processing", 30, "hash"), ("completed", 100, "hash")]
    assert complete == ["completed"]
    assert "callback bug" in caplog.text or "job callback failed" in caplog.text
    assert "dropped" in caplog.text
    assert monitor.get_subscription(sub_id) is not None
    monitor.unsubscribe(sub_id)
    monitor.unsubscribe(sub_id)  # unknown id: logged no-op
    assert monitor.get_subscription(sub_id) is None


async def test_callbacks_run_on_the_loop_in_order() -> None:
    monitor = offline_monitor()
    loop_threads: list[bool] = []
    order: list[str] = []

    async def slow_progress(job: JobResponse) -> None:
        loop_threads.append(asyncio.get_running_loop() is loop)
        await asyncio.sleep(0.01 if job.status == "processing" else 0)
        order.append(f"progress:{job.status}")

    def on_complete(job: JobResponse) -> None:
        loop_threads.append(asyncio.get_running_loop() is loop)
        order.append(f"complete:{job.status}")

    loop = asyncio.get_running_loop()
    monitor.subscribe_job_updates("j", on_progress=slow_progress, on_complete=on_complete)
    done = asyncio.Event()
    monitor.subscribe_job_updates("j", on_complete=lambda j: done.set())

    def publish_from_thread() -> None:
        for kind, progress in (("processing", 10), ("completed", 100), ("completed", 100)):
            monitor.handle_message(
                "inference/events",
                json.dumps(
                    {"job_id": "j", "event_type": kind, "progress": progress, "timestamp": 1}
                ).encode(),
            )

    await asyncio.to_thread(publish_from_thread)
    await asyncio.wait_for(done.wait(), 5)
    await monitor.drain()
    assert order == ["progress:processing", "progress:completed", "complete:completed"]
    assert all(loop_threads)


async def test_async_worker_callbacks_and_wait_for_capability() -> None:
    monitor = offline_monitor()
    seen: list[str] = []

    async def on_worker(worker_id: str, cap: WorkerCapability | None) -> None:
        seen.append(worker_id)

    monitor.subscribe_worker_updates(on_worker)
    waiter = asyncio.create_task(monitor.wait_for_capability("hash", timeout=5))
    await asyncio.sleep(0)
    await asyncio.to_thread(
        monitor.handle_message, "inference/workers/w1", capability("w1", ["hash"], 1)
    )
    assert await waiter is True
    await monitor.drain()
    assert seen == ["w1"]


async def test_wait_for_capability_times_out_with_summary() -> None:
    monitor = offline_monitor()
    monitor.handle_message("inference/workers/w1", capability("w1", ["hash", "exif"], 0))
    with pytest.raises(WorkerUnavailableError) as info:
        await monitor.wait_for_capability("hash", timeout=0.05)
    assert info.value.task_type == "hash"
    assert info.value.available_capabilities == {"hash": 0, "exif": 0}


async def test_connection_listeners_and_drain_cancels_stuck_callbacks() -> None:
    monitor = offline_monitor()
    states: list[bool] = []
    token = monitor.add_connection_listener(states.append)
    monitor.add_connection_listener(lambda c: (_ for _ in ()).throw(RuntimeError("x")))
    monitor._notify_connection(True)
    monitor.remove_connection_listener(token)
    monitor._notify_connection(False)
    assert states == [True]

    started = asyncio.Event()

    async def stuck(job: JobResponse) -> None:
        started.set()
        await asyncio.sleep(60)

    monitor.subscribe_job_updates("j", on_progress=stuck)
    monitor.handle_message(
        "inference/events", b'{"job_id":"j","event_type":"queued","timestamp":1}'
    )
    await asyncio.wait_for(started.wait(), 5)
    await monitor.drain(timeout=0.01)
    await asyncio.sleep(0)
    assert not any(not t.done() for t in monitor._callback_tasks)
