"""A uvicorn server that ends open event streams as soon as it starts shutting down.

uvicorn waits for every open response before it runs the app's shutdown, and an SSE stream never
ends by itself; without this, each open dashboard would hold a stop for the whole graceful
timeout (or forever without one). Clients reconnect with ``Last-Event-ID`` to the next server.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from cl_server.compute.services import ComputeServices


class StreamClosingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, close_streams: Callable[[], None]) -> None:
        super().__init__(config)
        self._close_streams = close_streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._close_streams()
        await super().shutdown(sockets=sockets)


def close_live_streams(app: FastAPI) -> None:
    """End the event streams of ``app`` (a compute app whose lifespan may not have started)."""
    services: ComputeServices | None = getattr(app.state, "services", None)
    if services is not None:
        services.live.hub.close()
