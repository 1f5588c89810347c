"""A plain paho subscriber that records job events, for tests that watch the wire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cl_client.paho_shutdown import shut_down_paho_client
from cl_client.topics import JOB_EVENTS_TOPIC
from cl_server.broker.credentials import ServiceCredentials

Event = dict[str, object]
OtherMessage = Callable[[str, bytes], None]


class EventRecorder:
    """Subscribes to ``inference/events`` (plus ``extra_topics``, handed to ``on_other``) and
    keeps every job event in arrival order. ``recording_events`` runs one for a ``with`` block.

    Anonymous (read-only) unless given the service ``credentials``, which ``publish`` needs."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        extra_topics: Sequence[str] = (),
        on_other: OtherMessage | None = None,
        credentials: ServiceCredentials | None = None,
    ) -> None:
        self.events: list[Event] = []
        self.arrival_times: list[float] = []
        """``time.monotonic()`` at each event's arrival, in step with ``events``."""
        self._host = host
        self._port = port
        self._topics = [JOB_EVENTS_TOPIC, *extra_topics]
        self._on_other = on_other
        self._arrived = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if credentials is not None:
            self._client.username_pw_set(credentials.username, credentials.password)
        self._client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in self._topics])
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message

    def start(self) -> None:
        """Connect and return once the broker has acknowledged the subscription."""
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "no SUBACK from the broker"

    def close(self) -> None:
        shut_down_paho_client(self._client)

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1)

    def kinds(self, job_id: str) -> list[object]:
        """The event types seen for ``job_id``, in arrival order."""
        with self._arrived:
            return [e["event_type"] for e in self.events if e["job_id"] == job_id]

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(predicate, timeout)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if message.topic != JOB_EVENTS_TOPIC:
            # amqtt may hand a fresh subscriber other retained messages too.
            if self._on_other is not None:
                self._on_other(message.topic, bytes(message.payload))
            return
        with self._arrived:
            self.events.append(json.loads(message.payload))
            self.arrival_times.append(time.monotonic())
            self._arrived.notify_all()


@contextmanager
def recording_events(
    host: str,
    port: int,
    *,
    extra_topics: Sequence[str] = (),
    on_other: OtherMessage | None = None,
    credentials: ServiceCredentials | None = None,
) -> Iterator[EventRecorder]:
    recorder = EventRecorder(
        host, port, extra_topics=extra_topics, on_other=on_other, credentials=credentials
    )
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.close()
