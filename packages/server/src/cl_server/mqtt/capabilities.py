"""The compute service's directory of workers, fed by retained capability messages (§5.4).

It answers ``/capabilities`` (connected workers only), ``GET /workers`` (connected workers, then
those that left within the last hour) and tells listeners about every change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pydantic import ValidationError

from cl_client.models import (
    WorkerCapabilitiesResponse,
    WorkerCapability,
    WorkerInfo,
    WorkerState,
)
from cl_client.topics import WORKER_TOPIC_PREFIX
from cl_server.mqtt.departed import DepartedWorkers
from cl_server.timeutil import now_ms

logger = logging.getLogger(__name__)

WorkerListener = Callable[[WorkerInfo], None]

REPLAY_GRACE_S = 15.0
"""How long a worker known before an MQTT reconnect may take to be heard of again before it is
marked gone. The broker replays retained messages within milliseconds of the subscription; the
margin is for a broker that restarted and lost them: each worker then announces itself on its own
reconnect (paho retries within 5 s) or at its next heartbeat (every 10 s by default)."""


def worker_info(capability: WorkerCapability, *, gone_at: int | None = None) -> WorkerInfo:
    """The ``GET /workers`` entry for a worker's latest message; ``gone_at`` marks it gone.

    ``last_seen`` of a connected worker is the ``timestamp`` its latest message carries (the
    worker's clock, so a replayed retained message does not look fresher than it is).
    """
    # A gone worker runs nothing any more; the lease reaper requeues what it held.
    current = [] if gone_at is not None else list(capability.current_job_ids)
    state: WorkerState = "gone" if gone_at is not None else "busy" if current else "idle"
    return WorkerInfo(
        worker_id=capability.worker_id,
        state=state,
        host=capability.host,
        pid=capability.pid,
        task_types=list(capability.capabilities),
        unavailable=dict(capability.unavailable),
        models=list(capability.models),
        execution_provider=capability.execution_provider,
        current_job_id=current[0] if current else None,
        current_job_ids=current,
        jobs_done=capability.jobs_done,
        jobs_failed=capability.jobs_failed,
        started_at=capability.started_at,
        last_seen=gone_at if gone_at is not None else capability.timestamp,
    )


def _same_apart_from_last_seen(a: WorkerInfo, b: WorkerInfo) -> bool:
    return a.model_copy(update={"last_seen": 0}) == b.model_copy(update={"last_seen": 0})


class CapabilityTracker:
    """The latest capability message of each worker, plus the workers that left.

    Connected workers are those whose latest message is non-empty and was received in the
    current MQTT session (or, for ``GET /workers`` only, is still within the replay grace after a
    reconnect, see ``forget_all``). A worker is gone when an empty payload arrives on its topic:
    its own goodbye on a clean stop, or its Last Will, sent by the broker when the connection
    drops (SIGKILL, crash) or its keep-alive runs out.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], int] = now_ms,
        replay_grace_s: float = REPLAY_GRACE_S,
    ) -> None:
        self._clock = clock
        self._replay_grace_s = replay_grace_s
        self._workers: dict[str, WorkerCapability] = {}
        self._unconfirmed: dict[str, WorkerCapability] = {}
        self._unconfirmed_since = 0
        self._departed = DepartedWorkers()
        self._grace_timer: threading.Timer | None = None
        self._grace_round = 0
        """Numbers each grace period, so a timer that fired just as a newer reconnect replaced
        it cannot end the newer one early."""
        self._listeners: list[WorkerListener] = []
        self._lock = threading.Lock()
        # Held while listeners run, taken before the state lock, so listeners hear changes in the
        # order they were made even when the MQTT thread and the grace timer race. Re-entrant so
        # a listener may read the directory (it only takes ``_lock`` then).
        self._delivery = threading.RLock()

    # --- inputs ------------------------------------------------------------------------------

    def handle_message(self, topic: str, payload: bytes) -> None:
        worker_id = topic.removeprefix(f"{WORKER_TOPIC_PREFIX}/")
        capability: WorkerCapability | None = None
        if payload:
            try:
                capability = WorkerCapability.model_validate_json(payload)
            except ValidationError:
                logger.warning("ignoring malformed capability message on %s", topic)
                return
            if capability.worker_id != worker_id:
                # §5.4: the id is the topic's last segment. A message naming another worker would
                # let one topic stand in for (or shadow) a different worker: not trusted.
                logger.warning(
                    "ignoring capability message on %s: it names worker %r",
                    topic,
                    capability.worker_id,
                )
                return
        with self._delivery:
            with self._lock:
                if capability is None:
                    change = self._depart(worker_id)
                else:
                    change = self._arrive(worker_id, capability)
            if change is not None:
                self._notify([change])

    def forget_all(self) -> None:
        """Start over from what the broker replays; called on each (re)connect, before any
        message of the new session is handled.

        Workers that vanished while the connection was down must not stay listed, but a
        reconnect alone must not turn every worker "gone" either. So the entries are set aside:
        ``/capabilities`` stops counting them at once (it only counts what this session heard),
        ``GET /workers`` keeps listing them with their last state, and each one that is heard of
        again within ``replay_grace_s`` comes back without a change. The rest are marked gone
        when the grace ends, as of the reconnect: the moment they were known to be missing.
        """
        with self._lock:
            if not self._unconfirmed:  # a second quick reconnect keeps the first one's time
                self._unconfirmed_since = self._clock()
            self._unconfirmed.update(self._workers)
            self._workers.clear()
            if self._grace_timer is not None:
                self._grace_timer.cancel()
                self._grace_timer = None
            if not self._unconfirmed:
                return
            self._grace_round += 1
            timer = threading.Timer(
                self._replay_grace_s, self._expire_unconfirmed, args=(self._grace_round,)
            )
            timer.daemon = True
            self._grace_timer = timer
        timer.start()

    def add_listener(self, callback: WorkerListener) -> None:
        """Call ``callback(info)`` whenever a worker's ``GET /workers`` entry changes.

        Changes are: a worker appears, it turns busy or idle, its current jobs, counters or any
        other advertised field change, or it is gone (``info.state == "gone"``). A heartbeat that
        only moves ``last_seen`` is not a change. Callbacks run in the MQTT network thread (or
        the thread that ends a reconnect's grace period), outside the directory's lock, one at a
        time and in the order the changes happened; they may read the directory but should be
        quick. An exception in a callback is logged and does not stop the others.
        """
        with self._delivery:
            self._listeners.append(callback)

    def close(self) -> None:
        """Stop the pending grace timer, if any (at service shutdown)."""
        with self._lock:
            if self._grace_timer is not None:
                self._grace_timer.cancel()
                self._grace_timer = None

    # --- views -------------------------------------------------------------------------------

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

    def workers(self) -> list[WorkerInfo]:
        """Connected workers by id, then those gone within the last hour by id."""
        with self._lock:
            connected = [*self._workers.values(), *self._unconfirmed.values()]
            gone = self._departed.list(self._clock())
        return [
            *sorted((worker_info(c) for c in connected), key=lambda w: w.worker_id),
            *sorted(gone, key=lambda w: w.worker_id),
        ]

    # --- internals (under ``_lock``) ---------------------------------------------------------

    def _arrive(self, worker_id: str, capability: WorkerCapability) -> WorkerInfo | None:
        previous = self._workers.get(worker_id, self._unconfirmed.pop(worker_id, None))
        self._workers[worker_id] = capability
        self._departed.discard(worker_id)
        info = worker_info(capability)
        if previous is not None and _same_apart_from_last_seen(worker_info(previous), info):
            return None
        return info

    def _depart(self, worker_id: str) -> WorkerInfo | None:
        last = self._workers.pop(worker_id, None) or self._unconfirmed.pop(worker_id, None)
        if last is None:
            return None  # never known, or already gone: nothing changes
        now = self._clock()
        info = worker_info(last, gone_at=now)
        self._departed.add(info, now)
        return info

    def _expire_unconfirmed(self, grace_round: int) -> None:
        with self._delivery:
            with self._lock:
                if grace_round != self._grace_round or self._grace_timer is None:
                    return  # superseded by a newer reconnect, or closed
                self._grace_timer = None
                left_at = self._unconfirmed_since
                changes = [worker_info(c, gone_at=left_at) for c in self._unconfirmed.values()]
                self._unconfirmed.clear()
                for info in changes:
                    self._departed.add(info, self._clock())
            self._notify(changes)

    def _notify(self, changes: list[WorkerInfo]) -> None:
        for info in changes:
            for listener in self._listeners:
                try:
                    listener(info)
                except Exception:  # one broken listener must not starve the others
                    logger.exception("worker listener failed for %s", info.worker_id)

    def _snapshot(self) -> list[WorkerCapability]:
        with self._lock:
            return sorted(self._workers.values(), key=lambda worker: worker.worker_id)


def _joined_reasons(workers: list[WorkerCapability], task_type: str) -> str:
    return "; ".join(
        f"{worker.worker_id}: {worker.unavailable[task_type]}"
        for worker in workers
        if task_type in worker.unavailable
    )
