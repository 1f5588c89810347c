"""Noticing, while a command follows jobs, that the compute service went away.

Without this a ``--watch`` whose server died would wait for events that never come. Two signals
are combined:

* the MQTT monitor reports a lost broker connection at once (``cl-server up`` runs broker and
  compute together, so a stopped stack drops both), which triggers an HTTP check right away;
* an HTTP check (a short ``GET``) every :data:`WAITING_CHECK_S` seconds covers a compute service
  that died while the broker stayed up, and a host that stopped answering.

A check that cannot connect or gets no answer within :data:`PROBE_TIMEOUT_S` is a failure. The
server counts as lost after :data:`FAILURES_BEFORE_LOST` failures in a row, retried
:data:`RETRY_AFTER_FAILURE_S` apart, or after one failure while the broker link that was up is
down too (two independent signals agree). Worst case, a host that silently vanished:
2 + 3 + 1 + 3 = 9 s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Self, TypeVar

import httpx

from cl_client.cli.common import CliError, CliState
from cl_client.cli.reattach import reattach_command, reattach_lines
from cl_client.compute_client import ComputeClient

WAITING_CHECK_S: Final = 2.0
"""How often a watch asks the server about its job: liveness, and why a queued job waits."""
PROBE_TIMEOUT_S: Final = 3.0
RETRY_AFTER_FAILURE_S: Final = 1.0
FAILURES_BEFORE_LOST: Final = 2

T = TypeVar("T")


class ServerLostError(CliError):
    """The compute service stopped answering while jobs were followed; they go on there."""

    def __init__(self, compute_url: str, job_ids: list[str]) -> None:
        lost = f"lost the connection to the compute service at {compute_url}"
        if len(job_ids) == 1:
            command = reattach_command(compute_url, job_ids[0])
            message = f"{lost}; the job continues on the server; reattach with: {command}"
            hints: list[str] = []
        elif job_ids:
            message = f"{lost}; {len(job_ids)} jobs continue on the server"
            hints = reattach_lines(compute_url, job_ids)
        else:
            message = lost
            hints = []
        super().__init__(message, 1, {"job_ids": job_ids}, hints)
        self.job_ids: list[str] = job_ids


class ServerCheck:
    """Runs a command's HTTP checks and decides when the server is lost (see the module doc).

    Use as a context manager inside the event loop; :meth:`poke` and MQTT disconnects end the
    current :meth:`sleep` early.
    """

    def __init__(self, client: ComputeClient, state: CliState) -> None:
        self._client: ComputeClient = client
        self._state: CliState = state
        self._loop: asyncio.AbstractEventLoop = asyncio.get_running_loop()
        self._wake: asyncio.Event = asyncio.Event()
        self._failures: int = 0
        monitor = client.mqtt_monitor
        self._mqtt_was_up: bool = monitor.connected
        self._listener: int = monitor.add_connection_listener(self._on_connection)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.mqtt_monitor.remove_connection_listener(self._listener)

    def _on_connection(self, connected: bool) -> None:
        """From paho's network thread: a drop means "check now"."""
        if connected:
            self._mqtt_was_up = True
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._wake.set)

    def poke(self) -> None:
        """End the current :meth:`sleep` now (on the loop's thread)."""
        self._wake.set()

    @property
    def delay(self) -> float:
        """Seconds until the next check: sooner while the last one failed."""
        return RETRY_AFTER_FAILURE_S if self._failures else WAITING_CHECK_S

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when poked or when the broker connection drops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(seconds, 0.0))
        self._wake.clear()

    async def call(self, request: Callable[[], Awaitable[T]]) -> T | None:
        """Run one HTTP check; None when it failed but the server is not yet deemed lost.

        Raises :class:`ServerLostError` once it is. HTTP error statuses are answers, not
        failures: they propagate (a job deleted meanwhile is a 404, not a lost server).
        """
        try:
            result = await asyncio.wait_for(request(), PROBE_TIMEOUT_S)
        except (httpx.TransportError, TimeoutError) as exc:
            self._failures += 1
            broker_gone = self._mqtt_was_up and not self._client.mqtt_monitor.connected
            if self._failures >= FAILURES_BEFORE_LOST or broker_gone:
                raise ServerLostError(self._state.compute_url, self._state.pending.ids) from exc
            return None
        self._failures = 0
        return result

    async def call_until_answered(self, request: Callable[[], Awaitable[T]]) -> T:
        """:meth:`call` until it answers (or :class:`ServerLostError`)."""
        while (result := await self.call(request)) is None:
            await self.sleep(self.delay)
        return result

    async def _watchdog(self) -> None:
        """Check the service (``GET /``) until it is lost."""
        while True:
            await self.sleep(self.delay)
            await self.call(self._client.get_service_info)

    async def guard(self, work: Awaitable[T]) -> T:
        """Await ``work`` while checking the service; a lost service cancels it and raises.

        For waits that happen elsewhere (a batch's ``wait_for_job`` calls), which would
        otherwise hang on a silent host or fail job by job with connection errors.
        """
        task = asyncio.ensure_future(work)
        watchdog = asyncio.ensure_future(self._watchdog())
        try:
            await asyncio.wait({task, watchdog}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when this wait is cancelled (Ctrl-C)
            for pending in (task, watchdog):
                pending.cancel()
            await asyncio.gather(task, watchdog, return_exceptions=True)
        if not task.cancelled():
            return task.result()
        watchdog.result()  # raises ServerLostError
        raise AssertionError("the watchdog ends only when the server is lost")
