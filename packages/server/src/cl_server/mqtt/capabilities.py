"""The compute service's view of live workers, fed by retained capability messages (§5.4)."""

from __future__ import annotations

import logging
import threading

from pydantic import ValidationError

from cl_client.models import WorkerCapabilitiesResponse, WorkerCapability
from cl_client.topics import WORKER_TOPIC_PREFIX

logger = logging.getLogger(__name__)


class CapabilityTracker:
    def __init__(self) -> None:
        self._workers: dict[str, WorkerCapability] = {}
        self._lock = threading.Lock()

    def handle_message(self, topic: str, payload: bytes) -> None:
        worker_id = topic.removeprefix(f"{WORKER_TOPIC_PREFIX}/")
        if not payload:
            with self._lock:
                self._workers.pop(worker_id, None)
            return
        try:
            capability = WorkerCapability.model_validate_json(payload)
        except ValidationError:
            logger.warning("ignoring malformed capability message on %s", topic)
            return
        with self._lock:
            self._workers[worker_id] = capability

    def forget_all(self) -> None:
        """Drop every entry; called on each (re)connect, before the broker replays the retained
        capability messages, so workers that vanished during a broker outage are not kept."""
        with self._lock:
            self._workers.clear()

    def summary(self) -> WorkerCapabilitiesResponse:
        with self._lock:
            workers = list(self._workers.values())
        totals: dict[str, int] = {}
        for worker in workers:
            for task_type in worker.capabilities:
                totals[task_type] = totals.get(task_type, 0) + worker.idle_count
        return WorkerCapabilitiesResponse(num_workers=len(workers), capabilities=totals)
