"""Entry point of ``cl-server broker``: serve MQTT in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib

from cl_server.broker.server import run_broker


def run(host: str, port: int) -> None:
    """Block serving MQTT on ``host:port``; Ctrl-C stops it without a traceback."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_broker(host, port))
