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
        workers = self._snapshot()
        totals: dict[str, int] = {}
        for worker in workers:
            for task_type in worker.capabilities:
                totals[task_type] = totals.get(task_type, 0) + worker.idle_count
        unavailable = {
            task_type: _joined_reasons(workers, task_type)
            for task_type in sorted({t for worker in workers for t in worker.unavailable})
            if task_type not in totals
        }
        return WorkerCapabilitiesResponse(
            num_workers=len(workers), capabilities=totals, unavailable=unavailable
        )

    def waiting_reason(self, task_type: str) -> str | None:
        """Why a queued ``task_type`` job is not picked up; None while a worker serves it."""
        workers = self._snapshot()
        if any(task_type in worker.capabilities for worker in workers):
            return None
        prefix = f"no connected worker serves {task_type}"
        if not workers:
            return f"{prefix}: no worker is connected (start one with `cl-server worker`)"
        if any(task_type in worker.unavailable for worker in workers):
            return f"{prefix}: {_joined_reasons(workers, task_type)}"
        return (
            f"{prefix}: the connected workers were not started for it "
            f"(start one with `cl-server worker --tasks {task_type}`)"
        )

    def _snapshot(self) -> list[WorkerCapability]:
        with self._lock:
            return sorted(self._workers.values(), key=lambda worker: worker.worker_id)


def _joined_reasons(workers: list[WorkerCapability], task_type: str) -> str:
    return "; ".join(
        f"{worker.worker_id}: {worker.unavailable[task_type]}"
        for worker in workers
        if task_type in worker.unavailable
    )
