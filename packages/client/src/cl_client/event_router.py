"""Routing of job events to subscriptions, with a replay buffer (PROTOCOL.md §5.5).

Pure logic, no sockets: :class:`~cl_client.mqtt_monitor.MQTTJobMonitor` feeds it events from the
broker thread and HTTP-polled job snapshots from the event loop; it decides which subscription
gets which job state and hands the decision to a *dispatcher* that runs the callbacks.

Guarantees per subscription:

* events of its job only (``job_id`` string equality), in arrival order;
* events that arrived up to ``replay_seconds`` before the subscription are replayed to it, so a
  job that finished between ``POST /jobs`` and the subscription still completes it;
* each state is delivered at most once: a state not newer than the last delivered one
  (same status and progress, or an older status) is skipped;
* exactly one terminal delivery: after ``completed``/``failed``/``error`` nothing more is delivered,
  which absorbs the server's deliberate re-publication of terminal events.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cl_client.models import TERMINAL_STATUSES, JobEvent, JobResponse, OnJobResponseCallback

#: Order of statuses; a job never legitimately goes back from a higher rank to a lower one.
_STATUS_RANK: dict[str, int] = {"queued": 0, "processing": 1}
_TERMINAL_RANK = 2


def status_rank(status: str) -> int:
    """0 queued, 1 processing (and unknown non-terminal statuses), 2 terminal."""
    if status in TERMINAL_STATUSES:
        return _TERMINAL_RANK
    return _STATUS_RANK.get(status, 1)


def job_from_event(event: JobEvent, task_type: str) -> JobResponse:
    """The synthetic job a callback receives for an MQTT event (PROTOCOL §5.5)."""
    return JobResponse(
        job_id=event.job_id,
        task_type=task_type,
        status=event.event_type,
        progress=int(event.progress),
        created_at=event.timestamp,
    )


@dataclass(eq=False)
class JobSubscription:
    """One registration of callbacks for one job."""

    job_id: str
    on_progress: OnJobResponseCallback = None
    on_complete: OnJobResponseCallback = None
    task_type: str = "unknown"
    loop: asyncio.AbstractEventLoop | None = None
    subscription_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: (status rank, progress) of the last delivered state; None before the first delivery.
    last_delivered: tuple[int, int] | None = None
    completed: bool = False
    #: Callback task chain (owned by the dispatcher) so callbacks run one after another.
    pending: asyncio.Task[None] | None = None


Dispatcher = Callable[[JobSubscription, JobResponse, bool], None]
#: Internal listener: called with each event's job state for one job id (any thread).
JobListener = Callable[[JobResponse], None]


class EventReplayBuffer:
    """The most recent events, kept for ``max_age`` seconds and at most ``max_events`` of them."""

    def __init__(
        self,
        max_age: float = 60.0,
        max_events: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age: float = max_age
        self.max_events: int = max_events
        self._clock: Callable[[], float] = clock
        self._order: deque[tuple[float, str]] = deque()
        self._by_job: dict[str, deque[JobEvent]] = {}

    def __len__(self) -> int:
        return len(self._order)

    def append(self, event: JobEvent) -> None:
        self._order.append((self._clock(), event.job_id))
        self._by_job.setdefault(event.job_id, deque()).append(event)
        self._prune()

    def events_for(self, job_id: str) -> list[JobEvent]:
        """Buffered events of one job, oldest first."""
        self._prune()
        return list(self._by_job.get(job_id, ()))

    def _prune(self) -> None:
        horizon = self._clock() - self.max_age
        while self._order and (self._order[0][0] < horizon or len(self._order) > self.max_events):
            _, job_id = self._order.popleft()
            events = self._by_job[job_id]
            events.popleft()
            if not events:
                del self._by_job[job_id]


class JobEventRouter:
    """Thread-safe map of subscriptions; decides deliveries and passes them to ``dispatcher``.

    The dispatcher is called with the router lock held so that deliveries reach it in decision
    order; it must only schedule work (the monitor's dispatcher hands callbacks to an event loop).
    """

    def __init__(self, dispatcher: Dispatcher, buffer: EventReplayBuffer | None = None) -> None:
        self._dispatch: Dispatcher = dispatcher
        self._buffer: EventReplayBuffer = buffer if buffer is not None else EventReplayBuffer()
        self._lock: threading.RLock = threading.RLock()
        #: subscription_id -> subscription (exposed as ``MQTTJobMonitor._job_subscriptions``).
        self.subscriptions: dict[str, JobSubscription] = {}
        self._listeners: dict[str, dict[int, JobListener]] = {}
        self._next_listener: int = 0

    @property
    def buffer(self) -> EventReplayBuffer:
        return self._buffer

    def subscribe(self, subscription: JobSubscription) -> str:
        """Register and replay the buffered events of its job to it."""
        with self._lock:
            self.subscriptions[subscription.subscription_id] = subscription
            for event in self._buffer.events_for(subscription.job_id):
                self._offer(subscription, job_from_event(event, subscription.task_type))
        return subscription.subscription_id

    def unsubscribe(self, subscription_id: str) -> bool:
        """Remove a subscription; False when the id is unknown."""
        with self._lock:
            return self.subscriptions.pop(subscription_id, None) is not None

    def get(self, subscription_id: str) -> JobSubscription | None:
        with self._lock:
            return self.subscriptions.get(subscription_id)

    def publish(self, event: JobEvent) -> None:
        """An event from the broker: buffer it, then deliver it to the job's subscriptions."""
        with self._lock:
            self._buffer.append(event)
            for subscription in self._matching(event.job_id):
                self._offer(subscription, job_from_event(event, subscription.task_type))
            self._notify(event.job_id, job_from_event(event, "unknown"))

    def publish_snapshot(self, job: JobResponse) -> None:
        """A job state fetched over HTTP (polling fallback): deliver it like an event.

        Snapshots are not buffered: they carry the full job (params, output, error) and are
        fetched for subscriptions that already exist.
        """
        with self._lock:
            for subscription in self._matching(job.job_id):
                self._offer(subscription, job.model_copy())
            self._notify(job.job_id, job)

    def add_listener(self, job_id: str, listener: JobListener) -> int:
        """Call ``listener`` for every later state of ``job_id`` (and the buffered ones now)."""
        with self._lock:
            token = self._next_listener
            self._next_listener += 1
            self._listeners.setdefault(job_id, {})[token] = listener
            for event in self._buffer.events_for(job_id):
                listener(job_from_event(event, "unknown"))
            return token

    def remove_listener(self, job_id: str, token: int) -> None:
        with self._lock:
            listeners = self._listeners.get(job_id)
            if listeners is not None:
                listeners.pop(token, None)
                if not listeners:
                    del self._listeners[job_id]

    def _matching(self, job_id: str) -> list[JobSubscription]:
        return [s for s in self.subscriptions.values() if s.job_id == job_id]

    def _notify(self, job_id: str, job: JobResponse) -> None:
        for listener in list(self._listeners.get(job_id, {}).values()):
            listener(job)

    def _offer(self, subscription: JobSubscription, job: JobResponse) -> None:
        if subscription.completed:
            return
        state = (status_rank(job.status), job.progress)
        terminal = job.status in TERMINAL_STATUSES
        last = subscription.last_delivered
        if not terminal and last is not None and state <= last:
            return
        subscription.last_delivered = state
        subscription.completed = terminal
        self._dispatch(subscription, job, terminal)
