"""MQTT job and worker monitor on paho-mqtt (PROTOCOL.md §5.5, §7.5).

The paho network thread receives messages; job events go through a
:class:`~cl_client.event_router.JobEventRouter` (replay buffer, at-most-once, one terminal
delivery), and callbacks are marshalled onto the asyncio loop that was running when the
subscription was made (or when the monitor was built).

When no broker is reachable the monitor does not raise: it logs one warning, keeps
``_connected = False`` and keeps retrying in the background (paho's reconnect loop), so a broker
that comes up later is used. :class:`~cl_client.compute_client.ComputeClient` drives
subscriptions by HTTP polling while the monitor is disconnected.
"""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from cl_client.config import ComputeClientConfig
from cl_client.event_router import (
    EventReplayBuffer,
    JobEventRouter,
    JobListener,
    JobSubscription,
)
from cl_client.exceptions import WorkerUnavailableError
from cl_client.models import JobEvent, JobResponse, OnJobResponseCallback, WorkerCapability
from cl_client.paho_shutdown import shut_down_paho_client
from cl_client.server_config import ServerConfig
from cl_client.topics import JOB_EVENTS_TOPIC, WORKER_TOPIC_FILTER, WORKER_TOPIC_PREFIX

logger = logging.getLogger(__name__)

WorkerUpdateCallback = (
    Callable[[str, WorkerCapability | None], None]
    | Callable[[str, WorkerCapability | None], Awaitable[None]]
)
ConnectionListener = Callable[[bool], None]

_KEEPALIVE_S = 60
_RECONNECT_MIN_S = 1
_RECONNECT_MAX_S = 5


class MQTTJobMonitor:
    """Follows ``inference/events`` and ``inference/workers/+`` on one broker."""

    def __init__(
        self,
        broker: str | None = None,
        port: int | None = None,
        connect_timeout: float = 5.0,
        *,
        connect: bool = True,
        replay_seconds: float = 60.0,
    ) -> None:
        """Connect to ``broker:port`` and wait up to ``connect_timeout`` s for the subscription.

        ``connect=False`` builds an offline monitor (no sockets), used by tests and by clients
        that want polling only. ``replay_seconds`` is how long events are kept for late
        subscriptions (at least 30 s is recommended).
        """
        env: ServerConfig | None = None
        if broker is None or port is None:
            env = ServerConfig.from_env()
        self.broker: str = broker if broker is not None else (env or ServerConfig()).mqtt_broker
        self.port: int = port if port is not None else (env or ServerConfig()).mqtt_port
        self.connect_timeout: float = connect_timeout
        self._connected: bool = False
        #: Incremented on every (re)connection, so watchers can tell that one happened.
        self.connection_generation: int = 0
        self._workers: dict[str, WorkerCapability] = {}
        self._workers_lock: threading.Lock = threading.Lock()
        self._router: JobEventRouter = JobEventRouter(
            self._dispatch, EventReplayBuffer(max_age=replay_seconds)
        )
        self._job_subscriptions: dict[str, JobSubscription] = self._router.subscriptions
        self._worker_callbacks: dict[
            str, tuple[WorkerUpdateCallback, asyncio.AbstractEventLoop | None]
        ] = {}
        self._connection_listeners: dict[int, ConnectionListener] = {}
        self._next_listener_id: int = 0
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._ready: threading.Event = threading.Event()
        self._first_attempt_done: threading.Event = threading.Event()
        self._warned_unreachable: bool = False
        self._closed: bool = False
        self._subscribe_mid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._client: mqtt.Client | None = None
        if connect:
            self._start(connect_timeout)

    # ------------------------------------------------------------------ connection

    def _start(self, connect_timeout: float) -> None:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"cl-client-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=_RECONNECT_MIN_S, max_delay=_RECONNECT_MAX_S)
        client.connect_timeout = connect_timeout
        self._client = client
        # connect_async + loop_start: paho's thread makes the first attempt and keeps retrying,
        # so a broker that is down now (or restarts later) is picked up without user action.
        client.connect_async(self.broker, self.port, keepalive=_KEEPALIVE_S)
        client.loop_start()
        deadline = time.monotonic() + connect_timeout
        # Wait until subscribed, or until the first attempt failed (refused: immediately).
        while not self._ready.is_set() and time.monotonic() < deadline:
            if self._first_attempt_done.is_set() and not self._ready.is_set():
                break
            self._ready.wait(min(0.05, max(deadline - time.monotonic(), 0.0)))
        if not self._ready.is_set():
            self._warn_unreachable("no answer within the connect timeout")

    def _warn_unreachable(self, why: str) -> None:
        if self._warned_unreachable or self._closed:
            return
        self._warned_unreachable = True
        logger.warning(
            "MQTT broker %s:%s is not reachable (%s); job updates fall back to HTTP polling "
            "and the connection is retried in the background",
            self.broker,
            self.port,
            why,
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._first_attempt_done.set()
            self._warn_unreachable(f"connection refused: {reason_code}")
            return
        # Rebuild the worker map from the retained messages the subscription delivers: workers
        # that vanished while we were away must not linger.
        with self._workers_lock:
            self._workers.clear()
        # QoS 0: this is a clean session with a fresh client id, so nothing is redelivered
        # after a reconnect whatever the QoS, and within a connection TCP delivers in order.
        # QoS 1 only added an acknowledgement per message, in this process and in the broker.
        result, mid = client.subscribe([(WORKER_TOPIC_FILTER, 0), (JOB_EVENTS_TOPIC, 0)])
        if result == mqtt.MQTT_ERR_SUCCESS:
            self._subscribe_mid = mid

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        mid: int,
        _reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        was_connected = self._connected
        self._ready.set()
        self._first_attempt_done.set()
        if self._warned_unreachable and not was_connected:
            logger.info(
                "MQTT broker %s:%s connected; live job updates resumed", self.broker, self.port
            )
        self._set_connected(True)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        self._first_attempt_done.set()
        self._warn_unreachable("connection failed")

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        was_connected = self._connected
        self._ready.clear()
        if was_connected and not self._closed:
            # A fresh outage deserves its own warning; repeated retries stay quiet.
            self._warned_unreachable = False
            self._warn_unreachable(f"connection lost: {reason_code}")
        self._set_connected(False)

    def _set_connected(self, connected: bool) -> None:
        """Record a connection change and tell the listeners (network thread)."""
        if connected == self._connected:
            return
        self._connected = connected
        if connected:
            self.connection_generation += 1
        self._notify_connection(connected)

    def add_connection_listener(self, listener: ConnectionListener) -> int:
        """Call ``listener(connected)`` from the network thread on each connect/disconnect."""
        token = self._next_listener_id
        self._next_listener_id += 1
        self._connection_listeners[token] = listener
        return token

    def remove_connection_listener(self, token: int) -> None:
        self._connection_listeners.pop(token, None)

    def _notify_connection(self, connected: bool) -> None:
        for listener in list(self._connection_listeners.values()):
            try:
                listener(connected)
            except Exception:
                logger.exception("connection listener failed")

    @property
    def connected(self) -> bool:
        """True while subscribed to the broker."""
        return self._connected

    # ------------------------------------------------------------------ messages

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.handle_message(msg.topic, bytes(msg.payload))

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Process one broker message (the network thread calls this; tests may too)."""
        if topic == JOB_EVENTS_TOPIC:
            try:
                event = JobEvent.model_validate_json(payload)
            except ValidationError as exc:
                logger.debug("ignoring malformed job event %r: %s", payload[:200], exc)
                return
            self._router.publish(event)
        elif topic.startswith(WORKER_TOPIC_PREFIX + "/"):
            self._handle_worker_message(topic[len(WORKER_TOPIC_PREFIX) + 1 :], payload)

    def _handle_worker_message(self, worker_id: str, payload: bytes) -> None:
        capability: WorkerCapability | None
        if not payload:
            capability = None
            with self._workers_lock:
                removed = self._workers.pop(worker_id, None)
            if removed is None:
                return
        else:
            try:
                capability = WorkerCapability.model_validate_json(payload)
            except ValidationError as exc:
                logger.debug("ignoring malformed capability message of %s: %s", worker_id, exc)
                return
            with self._workers_lock:
                self._workers[worker_id] = capability
        for callback, loop in list(self._worker_callbacks.values()):
            self._run_callback(loop, callback, worker_id, capability)

    def route_snapshot(self, job: JobResponse) -> None:
        """Feed a job fetched over HTTP to the job's subscriptions (polling fallback)."""
        self._router.publish_snapshot(job)

    # ------------------------------------------------------------------ subscriptions

    def subscribe_job_updates(
        self,
        job_id: str,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        task_type: str = "unknown",
    ) -> str:
        """Register callbacks for one job; returns a new subscription id (uuid4).

        Events that already arrived for the job (replay buffer) are delivered right away.
        """
        subscription = JobSubscription(
            job_id=str(job_id),
            on_progress=on_progress,
            on_complete=on_complete,
            task_type=task_type,
            loop=_running_loop() or self._loop,
        )
        return self._router.subscribe(subscription)

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription; an unknown id is logged and ignored."""
        if not self._router.unsubscribe(subscription_id):
            logger.debug("unsubscribe: unknown subscription id %s", subscription_id)

    def get_subscription(self, subscription_id: str) -> JobSubscription | None:
        return self._router.get(subscription_id)

    def add_job_listener(self, job_id: str, listener: JobListener) -> int:
        """Internal hook: ``listener(job_state)`` for every event of ``job_id`` (any thread)."""
        return self._router.add_listener(job_id, listener)

    def remove_job_listener(self, job_id: str, token: int) -> None:
        self._router.remove_listener(job_id, token)

    def _dispatch(self, subscription: JobSubscription, job: JobResponse, terminal: bool) -> None:
        callbacks: list[OnJobResponseCallback] = [subscription.on_progress]
        if terminal:
            callbacks.append(subscription.on_complete)
        todo = [cb for cb in callbacks if cb is not None]
        if not todo:
            return
        loop = subscription.loop
        if loop is None or loop.is_closed():
            # No event loop to run on (sync caller): run sync callbacks in this thread.
            for callback in todo:
                self._call_sync(callback, job)
            return
        try:
            loop.call_soon_threadsafe(self._chain_callbacks, subscription, job, todo)
        except RuntimeError:  # loop closed between the check and the call
            logger.debug("event loop closed; dropping callbacks for job %s", job.job_id)

    @staticmethod
    def _call_sync(callback: Callable[[JobResponse], object], job: JobResponse) -> None:
        try:
            result = callback(job)
        except Exception:
            logger.exception("job callback failed for job %s", job.job_id)
            return
        if inspect.isawaitable(result):
            # Coroutine callbacks need a loop; close the coroutine so no warning is raised.
            if inspect.iscoroutine(result):
                result.close()
            logger.warning("async callback for job %s dropped: no event loop", job.job_id)

    def _chain_callbacks(
        self,
        subscription: JobSubscription,
        job: JobResponse,
        callbacks: Sequence[Callable[[JobResponse], object]],
    ) -> None:
        """On the loop: run this delivery's callbacks after the previous delivery's finished."""
        previous = subscription.pending

        async def run() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            for callback in callbacks:
                try:
                    result = callback(job)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("job callback failed for job %s", job.job_id)

        task = asyncio.get_running_loop().create_task(run())
        subscription.pending = task
        self._callback_tasks.add(task)
        task.add_done_callback(self._callback_tasks.discard)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for callbacks already scheduled on this loop to finish."""
        current = asyncio.current_task()
        tasks = [t for t in self._callback_tasks if t is not current and not t.done()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()

    # ------------------------------------------------------------------ workers

    def get_worker_capabilities(self) -> dict[str, WorkerCapability]:
        """A copy of the known workers (``worker_id -> WorkerCapability``)."""
        with self._workers_lock:
            return dict(self._workers)

    def idle_capabilities(self) -> dict[str, int]:
        """Summed ``idle_count`` per task type over the known workers."""
        totals: dict[str, int] = {}
        for capability in self.get_worker_capabilities().values():
            for task in capability.capabilities:
                totals[task] = totals.get(task, 0) + capability.idle_count
        return totals

    def subscribe_worker_updates(self, callback: WorkerUpdateCallback) -> str:
        """Call ``callback(worker_id, capability or None)`` on each capability message."""
        token = str(uuid.uuid4())
        self._worker_callbacks[token] = (callback, _running_loop() or self._loop)
        return token

    def unsubscribe_worker_updates(self, token: str) -> None:
        self._worker_callbacks.pop(token, None)

    def _run_callback(
        self,
        loop: asyncio.AbstractEventLoop | None,
        callback: WorkerUpdateCallback,
        worker_id: str,
        capability: WorkerCapability | None,
    ) -> None:
        def call() -> None:
            try:
                result = callback(worker_id, capability)
            except Exception:
                logger.exception("worker callback failed")
                return
            if inspect.iscoroutine(result):
                running = _running_loop()
                if running is None:
                    result.close()
                    return
                task = running.create_task(_await_logged(result))
                self._callback_tasks.add(task)
                task.add_done_callback(self._callback_tasks.discard)

        if loop is None or loop.is_closed():
            call()
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(call)

    async def wait_for_capability(self, task_type: str, timeout: float | None = None) -> bool:
        """Wait until a known worker lists ``task_type`` with ``idle_count > 0``.

        Re-checks on every capability message and at least every
        ``WORKER_CAPABILITY_CHECK_INTERVAL`` s; raises :class:`WorkerUnavailableError` after
        ``timeout`` (default ``WORKER_WAIT_TIMEOUT``).
        """
        limit = ComputeClientConfig.WORKER_WAIT_TIMEOUT if timeout is None else timeout
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def on_update(_worker_id: str, _capability: WorkerCapability | None) -> None:
            changed.set()

        token = self.subscribe_worker_updates(on_update)
        deadline = loop.time() + limit
        try:
            while True:
                if self.idle_capabilities().get(task_type, 0) > 0:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise WorkerUnavailableError(task_type, self.idle_capabilities())
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        changed.wait(),
                        min(remaining, ComputeClientConfig.WORKER_CAPABILITY_CHECK_INTERVAL),
                    )
        finally:
            self.unsubscribe_worker_updates(token)

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        """Disconnect and stop the network thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        client = self._client
        if client is not None:
            shut_down_paho_client(client)
        self._connected = False


async def _await_logged(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except Exception:
        logger.exception("worker callback failed")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
