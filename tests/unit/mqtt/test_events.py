"""EventPublisher: event payloads and the terminal event's re-publication (PROTOCOL §5.2, §5.3)."""

from __future__ import annotations

import json
import threading
from unittest.mock import MagicMock

import pytest

from cl_client.topics import JOB_EVENTS_TOPIC
from cl_server.mqtt import events
from cl_server.mqtt.connection import MqttConnection
from cl_server.mqtt.events import EventPublisher


class Recorder:
    """What ``MqttConnection.publish`` was asked to send, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.arrived = threading.Condition()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        with self.arrived:
            self.sent.append((topic, payload))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.sent) >= count, timeout)
            return list(self.sent)


def _publisher(recorder: Recorder) -> EventPublisher:
    connection = MagicMock(spec=MqttConnection)
    connection.publish.side_effect = recorder.publish
    return EventPublisher(connection)


def test_the_terminal_event_is_sent_again_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "TERMINAL_REPUBLISH_DELAY_S", 0.05)
    recorder = Recorder()
    publisher = _publisher(recorder)
    publisher.job_event("j1", "processing", 0)
    publisher.job_event("j1", "completed", 100)
    sent = recorder.wait_for(3)
    publisher.close()
    assert [topic for topic, _ in sent] == [JOB_EVENTS_TOPIC] * 3
    processing, completed, again = (json.loads(payload) for _, payload in sent)
    assert processing["event_type"] == "processing"
    assert completed == {
        "job_id": "j1",
        "event_type": "completed",
        "timestamp": completed["timestamp"],
        "progress": 100,
    }
    assert isinstance(completed["timestamp"], int)
    # Same bytes: the timestamp still says when the job ended.
    assert sent[2][1] == sent[1][1]
    assert again == completed


def test_close_sends_the_pending_re_publications_now() -> None:
    recorder = Recorder()
    publisher = _publisher(recorder)
    publisher.job_event("j1", "failed", 40)
    publisher.job_event("j2", "processing", 0)
    publisher.close()  # the 1 s delay has not passed
    sent = [json.loads(payload) for _, payload in recorder.sent]
    assert [(e["job_id"], e["event_type"]) for e in sent] == [
        ("j1", "failed"),
        ("j2", "processing"),
        ("j1", "failed"),
    ]
