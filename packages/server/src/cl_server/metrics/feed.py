"""Hands job events from MQTT to the job metrics on a thread of their own.

Counting an event reads the job's row. Doing that in paho's network thread would hold up every
other MQTT message of the service (worker capabilities, live events) behind the database, and a
slow database could even delay keep-alive pings until the broker drops the connection. So the MQTT
callback only parses and queues; one thread does the lookups, in arrival order.

Counting is not urgent (Prometheus scrapes every few seconds), so the thread lets events gather
for ``BATCH_WINDOW_S`` after the first one and counts them together: the rows their ends need
are read in one statement instead of one per job, and the thread wakes once per batch rather
than once per event.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from cl_client.models import TERMINAL_STATUSES, JobEvent

logger = logging.getLogger(__name__)

MAX_PENDING_EVENTS = 10_000
"""Events waiting to be counted; beyond that (a database stuck for minutes) new ones are dropped,
so memory stays bounded and the counters undercount rather than the service falling over."""
_COUNTED_EVENTS = TERMINAL_STATUSES | {"queued"}
BATCH_WINDOW_S = 0.05
"""How long events gather after the first of a batch before they are counted."""
MAX_BATCH_EVENTS = 500
"""Most events counted together (and so job ids in one read)."""


class EventFeed:
    def __init__(
        self,
        record: Callable[[Sequence[JobEvent]], None],
        *,
        batch_window_s: float = BATCH_WINDOW_S,
    ) -> None:
        self._record = record
        self._batch_window_s = batch_window_s
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
        while True:
            first = self._pending.get()
            if first is None:
                return
            time.sleep(self._batch_window_s)
            batch = [first]
            stopping = False
            while len(batch) < MAX_BATCH_EVENTS:
                try:
                    event = self._pending.get_nowait()
                except queue.Empty:
                    break
                if event is None:
                    stopping = True
                    break
                batch.append(event)
            try:
                self._record(batch)
            except Exception:  # a database hiccup must not end the feed
                logger.exception("could not count %d job events", len(batch))
            if stopping:
                return
