"""``cl-server compute``: serve the compute service with uvicorn."""

from __future__ import annotations

import uvicorn

from cl_server.compute.app import create_app
from cl_server.live.shutdown import StreamClosingServer, close_live_streams
from cl_server.logging_setup import configure_logging
from cl_server.settings import ComputeSettings


def run(settings: ComputeSettings) -> None:
    configure_logging()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.compute_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
    # Open /events streams would otherwise hold every stop for the graceful timeout.
    StreamClosingServer(config, close_streams=lambda: close_live_streams(app)).run()
