"""Publishing job events and worker capability messages (PROTOCOL §5.2 to §5.4).

Terminal events go out a second time after ``TERMINAL_REPUBLISH_DELAY_S`` for late
subscribers: the same event, byte for byte (its timestamp says when the job ended, so a
listener can tell the repeat from a later end of a retried job without reading the row). One
thread per publisher, started with the first such event, sends every re-publication in due
order, rather than a timer thread per job.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time

from cl_client.models import TERMINAL_STATUSES, JobEvent, WorkerCapability
from cl_client.topics import JOB_EVENTS_TOPIC, worker_topic
from cl_server.mqtt.connection import MqttConnection
from cl_server.timeutil import now_ms

TERMINAL_REPUBLISH_DELAY_S = 1.0
"""Late subscribers (PROTOCOL §3.5) get the terminal event once more after this delay."""
WORKER_WAKE_TOPIC = "inference/internal/worker-wake"
"""The job events workers act on (``queued``: new work, ``cancelled``: stop it), sent here too,
right after their ``inference/events`` copy, so that workers need not receive every job's
progress and ends (three quarters of all events, each a delivery per worker). Internal: not in
PROTOCOL.md; only the service account may subscribe (see ``cl_server.broker.access``)."""
WAKE_EVENTS = frozenset({"queued", "cancelled"})


class EventPublisher:
    def __init__(self, connection: MqttConnection) -> None:
        self._connection = connection
        self._due: list[tuple[float, int, bytes]] = []  # heap of (send at, order, payload)
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def job_event(self, job_id: str, status: str, progress: int) -> None:
        event = JobEvent(job_id=job_id, event_type=status, timestamp=now_ms(), progress=progress)
        payload = event.model_dump_json().encode()
        self._publish_event(payload)
        if status in WAKE_EVENTS:
            # Same connection, after the public copy: a worker that sees this has had the
            # ``queued`` event go out before it (see Worker._await_queued_events).
            self._connection.publish(WORKER_WAKE_TOPIC, payload)
        if status in TERMINAL_STATUSES:
            self._schedule_republish(payload)

    def capability(self, message: WorkerCapability) -> None:
        """Retained, so the service (and any client) learns of live workers on subscribing."""
        self._connection.publish(
            worker_topic(message.worker_id), message.model_dump_json().encode(), retain=True
        )

    def close(self) -> None:
        """Send pending re-publications now rather than dropping them."""
        with self._changed:
            self._closed = True
            pending = [payload for _, _, payload in sorted(self._due)]
            self._due.clear()
            self._changed.notify()
        for payload in pending:
            self._publish_event(payload)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _publish_event(self, payload: bytes) -> None:
        self._connection.publish(JOB_EVENTS_TOPIC, payload)

    def _schedule_republish(self, payload: bytes) -> None:
        with self._changed:
            if self._closed:
                return
            due_at = time.monotonic() + TERMINAL_REPUBLISH_DELAY_S
            heapq.heappush(self._due, (due_at, next(self._order), payload))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._send_due, name="terminal-republish", daemon=True
                )
                self._thread.start()
            # Every entry waits the same delay, so a new one is never due before those already
            # queued: the sender, waiting for the earliest, needs waking only from an empty heap.
            # (Waking it per job cost a thread switch per job for nothing.)
            if len(self._due) == 1:
                self._changed.notify()

    def _send_due(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                if not self._due:
                    self._changed.wait()
                    continue
                delay = self._due[0][0] - time.monotonic()
                if delay > 0:
                    self._changed.wait(delay)
                    continue
                _, _, payload = heapq.heappop(self._due)
            self._publish_event(payload)
