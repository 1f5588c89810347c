"""Run an ASGI app under a real uvicorn server on a free port, in a background thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Generator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 15.0


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that reports the end of its start-up, successful or not."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_done = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.startup_done.set()

    def run_in_thread(self) -> None:
        try:
            self.run()
        finally:
            # Also covers a failure before startup() (a bad app import, SystemExit from a
            # failed lifespan), so the waiting test never hangs.
            self.startup_done.set()


@contextmanager
def serve_app(app: ASGIApp, host: str = "127.0.0.1") -> Generator[str]:
    """Serve ``app`` on ``host`` and a free port; yield its base URL (``http://host:port``).

    The app's lifespan runs (start-up errors raise here); on exit the server shuts down and
    the thread is joined.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=0,
        lifespan="on",
        log_level="warning",
        # h11 and no websockets: no optional C extensions, no deprecation warnings in the thread.
        http="h11",
        ws="none",
        timeout_graceful_shutdown=5,
    )
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run_in_thread, name="uvicorn-test-server", daemon=True)
    thread.start()
    try:
        if not server.startup_done.wait(STARTUP_TIMEOUT_S):
            raise TimeoutError(f"uvicorn did not start within {STARTUP_TIMEOUT_S} s")
        if not server.started:
            raise RuntimeError("uvicorn failed to start the app (see the log above)")
        port: int = server.servers[0].sockets[0].getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        yield f"http://{url_host}:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        if thread.is_alive():
            raise TimeoutError(f"uvicorn did not stop within {SHUTDOWN_TIMEOUT_S} s")
