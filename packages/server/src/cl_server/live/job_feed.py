"""Job events from MQTT into the live hub, with each job's owner and task type added.

The MQTT payload (PROTOCOL §5.2) names only the job; streams need its owner to decide who may
see it, and the dashboard wants its task type. Both are read from the job store once per job and
cached (neither ever changes). The store read happens in a thread of its own, never in paho's
network thread, so a slow database cannot hold up MQTT; one thread keeps the events in order.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from cl_client.models import JobEvent
from cl_server.live.hub import EventHub
from cl_server.store import JobRecord

logger = logging.getLogger(__name__)

JobLookup = Callable[[str], JobRecord | None]

DEFAULT_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _JobFacts:
    owner: str | None
    task_type: str


class JobEventFeed:
    """Register ``handle_message`` for ``inference/events``; ``start`` before, ``close`` after."""

    def __init__(
        self, hub: EventHub, lookup: JobLookup, *, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        self._hub = hub
        self._lookup = lookup
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _JobFacts] = OrderedDict()
        self._queue: queue.SimpleQueue[JobEvent | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="live-job-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def handle_message(self, topic: str, payload: bytes) -> None:
        try:
            event = JobEvent.model_validate_json(payload)
        except ValidationError:
            logger.warning("ignoring malformed job event on %s", topic)
            return
        self._queue.put(event)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            facts = self._facts(event.job_id)
            data = {**event.model_dump(), "task_type": facts.task_type if facts else None}
            self._hub.publish("job", json.dumps(data), owner=facts.owner if facts else None)

    def _facts(self, job_id: str) -> _JobFacts | None:
        cached = self._cache.get(job_id)
        if cached is not None:
            self._cache.move_to_end(job_id)
            return cached
        try:
            record = self._lookup(job_id)
        except Exception:  # a database hiccup: the event still goes out, to those who see every job
            logger.exception("could not look up job %s for the live feed", job_id)
            return None
        if record is None:
            return None  # deleted already; not cached, in case the lookup merely came early
        facts = _JobFacts(owner=record.created_by, task_type=record.task_type)
        self._cache[job_id] = facts
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return facts
