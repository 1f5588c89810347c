"""Entry point of ``cl-server auth``: serve the auth app with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from cl_server.auth.app import create_app
from cl_server.settings import AuthSettings


def run(settings: AuthSettings) -> None:
    """Serve on ``settings.host:settings.auth_port`` until interrupted."""
    if not logging.getLogger().handlers:
        # Our loggers (generated admin password, key generation) need a handler; uvicorn only
        # configures its own.
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.auth_port)
