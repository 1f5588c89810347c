"""Run the broker on its own event loop in a daemon thread (tests, ``cl-server up``)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from pathlib import Path
from types import TracebackType

from cl_server.broker.credentials import ServiceCredentials, generate_service_credentials
from cl_server.broker.server import run_broker
from cl_server.errors import ClServerError


class BrokerStartError(ClServerError):
    """The embedded broker did not come up (port taken, bad host, amqtt failure)."""


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PICKED_PORT = 10_000
DEFAULT_EPHEMERAL_START = 32_768  # Linux's default; BSD and macOS start even higher (49152)


def ephemeral_range_start() -> int:
    """The first port the kernel hands out as a local port for outgoing connections."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_EPHEMERAL_START


def _can_bind(family: socket.AddressFamily, host: str, port: int) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def pick_free_port(host: str, *, attempts: int = 200) -> int:
    """A TCP port that was free on ``host`` a moment ago, chosen below the ephemeral range.

    Chosen up front (rather than binding port 0 inside amqtt) because a host such as ``localhost``
    may resolve to several addresses, and port 0 would then give each address a different port.

    Below the ephemeral range because a broker's port must stay free while the broker restarts:
    once its listener closes, the kernel may give that port to any outgoing connection (seen: a
    restarted test broker failed with "address already in use"), and clients retrying a connection
    to a port in that range can even end up connected to themselves.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ceiling = ephemeral_range_start()
    if ceiling > LOWEST_PICKED_PORT:
        chooser = random.Random()
        for _ in range(attempts):
            port = chooser.randrange(LOWEST_PICKED_PORT, ceiling)
            if _can_bind(family, host, port):
                return port
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        picked: int = sock.getsockname()[1]
        return picked


class EmbeddedBroker:
    """An amqtt broker running in a background thread; usable as a context manager.

    ``start()`` returns once amqtt's listening socket is bound, so the port accepts connections;
    ``stop()`` shuts the broker down and joins the thread. A stopped broker can be started again on
    the same port (clients with automatic reconnect come back on their own).

    Only ``credentials`` may publish (anonymous clients may subscribe to the job event and worker
    topics); without it, fresh random credentials are made, readable as ``broker.credentials``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: ServiceCredentials | None = None,
        start_timeout: float = 15.0,
    ):
        self.host = host
        self.port = port
        self.credentials = credentials or generate_service_credentials()
        self._start_timeout = start_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        if self.port == 0:
            self.port = pick_free_port(self.host)
        self._started.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._thread_main, name=f"mqtt-broker-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._started.wait(self._start_timeout):
            self.stop()
            raise BrokerStartError(
                f"MQTT broker on {self.host}:{self.port} did not start "
                f"within {self._start_timeout:.0f} s"
            )
        if self._error is not None:
            self._thread.join(self._start_timeout)
            self._thread = None
            raise BrokerStartError(
                f"MQTT broker could not listen on {self.host}:{self.port}: {self._error}"
            ) from self._error

    def stop(self) -> None:
        thread, loop, task = self._thread, self._loop, self._task
        if thread is None:
            return
        if loop is not None and task is not None and not loop.is_closed():
            # The loop may close between the check and the call when the broker died on its own.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        thread.join(self._start_timeout)
        self._thread = None

    def _thread_main(self) -> None:
        # asyncio.run cancels and awaits every leftover connection task and closes the loop,
        # so no transport is left open for the garbage collector to complain about.
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die noisily
            self._error = exc
        finally:
            self._loop = None
            self._task = None
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        task = asyncio.create_task(
            run_broker(self.host, self.port, credentials=self.credentials, ready=ready)
        )
        self._task = task
        ready_wait = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({task, ready_wait}, return_when=asyncio.FIRST_COMPLETED)
        ready_wait.cancel()
        if task in done and not ready.is_set():
            await task  # re-raises the start failure; _thread_main records it before waking start()
            return
        self._started.set()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
