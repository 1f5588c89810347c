"""HTTP polling that stands in for MQTT while the broker is unreachable.

For each job subscription a small task watches the monitor's connection state:

* disconnected: poll ``GET /jobs/{id}`` with backoff and feed the state to the subscription;
* reconnected: poll once, to catch events published during the outage;
* connected: guard polls at growing intervals (2 s, 3 s, ... up to ``safety_interval``) in
  case events are lost (e.g. the worker is not connected to the broker).

The router's at-most-once rules make MQTT events and polled states safe to mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import httpx

from cl_client.backoff import PollBackoff
from cl_client.config import ComputeClientConfig
from cl_client.exceptions import ComputeClientError, JobNotFoundError
from cl_client.models import TERMINAL_STATUSES, JobResponse
from cl_client.mqtt_monitor import MQTTJobMonitor

logger = logging.getLogger(__name__)

FetchJob = Callable[[str], Awaitable[JobResponse]]


class PollingFallback:
    """Drives job subscriptions by polling when MQTT cannot."""

    def __init__(
        self,
        monitor: MQTTJobMonitor,
        fetch: FetchJob,
        *,
        poll_interval: float = ComputeClientConfig.DEFAULT_POLL_INTERVAL,
        safety_interval: float = 30.0,
    ) -> None:
        self._monitor: MQTTJobMonitor = monitor
        self._fetch: FetchJob = fetch
        self.poll_interval: float = poll_interval
        self.safety_interval: float = safety_interval
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def active(self) -> int:
        return sum(1 for t in self._tasks.values() if not t.done())

    def watch(self, subscription_id: str) -> None:
        """Start watching a subscription (needs a running loop; sync callers get MQTT only)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.debug("no running loop: subscription %s is driven by MQTT only", subscription_id)
            return
        task = loop.create_task(self._watch(subscription_id))
        self._tasks[subscription_id] = task
        task.add_done_callback(lambda _t: self._forget(subscription_id, task))

    def _forget(self, subscription_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(subscription_id) is task:
            del self._tasks[subscription_id]

    def stop(self, subscription_id: str) -> None:
        task = self._tasks.pop(subscription_id, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, subscription_id: str) -> None:
        monitor = self._monitor
        subscription = monitor.get_subscription(subscription_id)
        if subscription is None:
            return
        job_id = subscription.job_id
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def poke() -> None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(wake.set)

        def on_job(job: JobResponse) -> None:
            if job.status in TERMINAL_STATUSES:
                poke()

        conn_token = monitor.add_connection_listener(lambda _connected: poke())
        job_token = monitor.add_job_listener(job_id, on_job)
        backoff = PollBackoff(self.poll_interval)
        # While connected, guard polls start soon and thin out: the client may be connected while
        # the worker is not (yet), and then no event would ever come.
        guard = PollBackoff(min(2.0, self.safety_interval), 1.5, self.safety_interval)
        need_poll = not monitor.connected
        try:
            while True:
                wake.clear()
                if subscription.completed or monitor.get_subscription(subscription_id) is None:
                    return
                if need_poll and not await self._poll(job_id):
                    return
                if subscription.completed:
                    return
                connected_before = monitor.connected
                generation = monitor.connection_generation
                if connected_before:
                    backoff.reset()
                    delay = guard.next_delay()
                else:
                    guard.reset()
                    delay = backoff.next_delay()
                woke = True
                try:
                    await asyncio.wait_for(wake.wait(), delay)
                except TimeoutError:
                    woke = False
                # Poll when offline, after a reconnect (catch-up: events published during the
                # outage are lost) or when the guard timer ran out.
                reconnected = monitor.connection_generation != generation
                need_poll = (not monitor.connected) or reconnected or not woke
        finally:
            monitor.remove_connection_listener(conn_token)
            monitor.remove_job_listener(job_id, job_token)

    async def _poll(self, job_id: str) -> bool:
        """Fetch and route one job state; False when the job no longer exists."""
        try:
            job = await self._fetch(job_id)
        except JobNotFoundError:
            logger.info("job %s no longer exists; stopping its updates", job_id)
            return False
        except (httpx.HTTPError, ComputeClientError) as exc:
            logger.debug("polling job %s failed: %s", job_id, exc)
            return True
        self._monitor.route_snapshot(job)
        return True
