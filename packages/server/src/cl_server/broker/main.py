"""Entry point of ``cl-server broker``: serve MQTT in the foreground until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from cl_server.broker.server import run_broker

if TYPE_CHECKING:
    from cl_server.broker.credentials import ServiceCredentials


def run(host: str, port: int, credentials: ServiceCredentials) -> None:
    """Block serving MQTT on ``host:port``; Ctrl-C stops it without a traceback.

    Only ``credentials`` may publish; anonymous clients may read job events and capabilities.
    """
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_broker(host, port, credentials=credentials))
