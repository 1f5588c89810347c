"""``cl-server compute``: serve the compute service with uvicorn."""

from __future__ import annotations

import uvicorn

from cl_server.compute.app import create_app
from cl_server.logging_setup import configure_logging
from cl_server.settings import ComputeSettings


def run(settings: ComputeSettings) -> None:
    configure_logging()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.compute_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
