"""Entry point of ``cl-server broker``: serve MQTT in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from uvicorn.loops.auto import auto_loop_factory

from cl_server.broker.server import run_broker

if TYPE_CHECKING:
    from cl_server.broker.credentials import ServiceCredentials


def run(host: str, port: int, credentials: ServiceCredentials) -> None:
    """Block serving MQTT on ``host:port``; Ctrl-C stops it without a traceback.

    Only ``credentials`` may publish; anonymous clients may read job events and capabilities.
    The loop is uvicorn's choice, uvloop where it is installed (``uvicorn[standard]``, all but
    Windows): amqtt is asyncio all the way down (a task, a timer and stream writes per message)
    and spends about 11 % less CPU per job on it (``bench/cpu_per_job.py``).
    """
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=auto_loop_factory()) as runner,
    ):
        runner.run(run_broker(host, port, credentials=credentials))
