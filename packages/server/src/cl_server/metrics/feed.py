"""Hands job events from MQTT to the job metrics on a thread of their own.

Counting an event reads the job's row. Doing that in paho's network thread would hold up every
other MQTT message of the service (worker capabilities, live events) behind the database, and a
slow database could even delay keep-alive pings until the broker drops the connection. So the MQTT
callback only parses and queues; one thread does the lookups, in arrival order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from pydantic import ValidationError

from cl_client.models import TERMINAL_STATUSES, JobEvent

logger = logging.getLogger(__name__)

MAX_PENDING_EVENTS = 10_000
"""Events waiting to be counted; beyond that (a database stuck for minutes) new ones are dropped,
so memory stays bounded and the counters undercount rather than the service falling over."""
_COUNTED_EVENTS = TERMINAL_STATUSES | {"queued"}


class EventFeed:
    def __init__(self, record: Callable[[JobEvent], None]) -> None:
        self._record = record
        self._pending: queue.Queue[JobEvent | None] = queue.Queue(MAX_PENDING_EVENTS)
        self._thread = threading.Thread(target=self._run, name="metrics-feed", daemon=True)
        self._thread.start()

    def handle_message(self, _topic: str, payload: bytes) -> None:
        """MQTT handler for ``inference/events``."""
        try:
            event = JobEvent.model_validate_json(payload)
        except ValidationError:
            return  # not ours to judge; the SDK ignores such events too
        # Progress events are most of the traffic and move no metric: drop them here.
        if event.event_type not in _COUNTED_EVENTS:
            return
        try:
            self._pending.put_nowait(event)
        except queue.Full:
            logger.warning("metrics feed is %d events behind; dropping one", MAX_PENDING_EVENTS)

    def close(self, timeout: float = 5.0) -> None:
        """Count the events already queued, then stop the thread."""
        self._pending.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (event := self._pending.get()) is not None:
            try:
                self._record(event)
            except Exception:  # a database hiccup must not end the feed
                logger.exception("could not count job event %s", event)
