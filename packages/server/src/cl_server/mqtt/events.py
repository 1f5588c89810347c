"""Publishing job events and worker capability messages (PROTOCOL §5.2 to §5.4)."""

from __future__ import annotations

import threading

from cl_client.models import TERMINAL_STATUSES, JobEvent, WorkerCapability
from cl_client.topics import JOB_EVENTS_TOPIC, worker_topic
from cl_server.mqtt.connection import MqttConnection
from cl_server.timeutil import now_ms

TERMINAL_REPUBLISH_DELAY_S = 1.0
"""Late subscribers (PROTOCOL §3.5) get the terminal event once more after this delay."""


class EventPublisher:
    def __init__(self, connection: MqttConnection) -> None:
        self._connection = connection
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()

    def job_event(self, job_id: str, status: str, progress: int) -> None:
        event = JobEvent(job_id=job_id, event_type=status, timestamp=now_ms(), progress=progress)
        self._publish_event(event)
        if status in TERMINAL_STATUSES:
            self._schedule_republish(event)

    def capability(self, message: WorkerCapability) -> None:
        """Retained, so the service (and any client) learns of live workers on subscribing."""
        self._connection.publish(
            worker_topic(message.worker_id), message.model_dump_json().encode(), retain=True
        )

    def close(self) -> None:
        """Flush pending re-publications now rather than dropping them."""
        with self._lock:
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()
            timer.function(*timer.args)

    def _publish_event(self, event: JobEvent) -> None:
        self._connection.publish(JOB_EVENTS_TOPIC, event.model_dump_json().encode())

    def _schedule_republish(self, event: JobEvent) -> None:
        def republish(timer_event: JobEvent = event) -> None:
            with self._lock:
                self._timers.discard(timer)
            self._publish_event(timer_event.model_copy(update={"timestamp": now_ms()}))

        timer = threading.Timer(TERMINAL_REPUBLISH_DELAY_S, republish)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()
