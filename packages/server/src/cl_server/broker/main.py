"""Entry point of ``cl-server broker``: serve MQTT in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from cl_server.broker.server import run_broker

if TYPE_CHECKING:
    from cl_server.broker.credentials import ServiceCredentials


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (it comes with ``uvicorn[standard]``, except on
    Windows), else None: asyncio's own.

    amqtt is asyncio all the way down (a task, a timer and stream writes per message); on
    uvloop the broker process spends about 11 % less CPU per job (``bench/cpu_per_job.py``).
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(host: str, port: int, credentials: ServiceCredentials) -> None:
    """Block serving MQTT on ``host:port``; Ctrl-C stops it without a traceback.

    Only ``credentials`` may publish; anonymous clients may read job events and capabilities.
    """
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=event_loop_factory()) as runner,
    ):
        runner.run(run_broker(host, port, credentials=credentials))
