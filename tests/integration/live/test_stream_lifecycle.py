"""How ``GET /events`` streams end: client disconnect, lost access, server shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from cl_server.broker import EmbeddedBroker
from cl_server.compute.app import create_app
from cl_server.compute.services import ComputeServices
from cl_server.live.shutdown import StreamClosingServer, close_live_streams
from cl_server.settings import ComputeSettings
from tests.integration.live.sse_client import open_events
from tests.support.uvicorn_thread import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    running = EmbeddedBroker("127.0.0.1", 0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def compute_app(broker: EmbeddedBroker, data_dir: Path, *, no_auth: bool) -> FastAPI:
    settings = ComputeSettings(
        data_dir=data_dir,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_username=broker.credentials.username,  # the broker's service account
        mqtt_password=SecretStr(broker.credentials.password),
        no_auth=no_auth,
        events_heartbeat_seconds=0.2,
    )
    return create_app(settings)


def services_of(app: FastAPI) -> ComputeServices:
    services: ComputeServices = app.state.services
    return services


async def wait_for(predicate: Callable[[], bool], what: str, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


async def test_a_client_disconnect_ends_its_stream(broker: EmbeddedBroker, tmp_path: Path) -> None:
    app = compute_app(broker, tmp_path, no_auth=True)
    with serve_app(app) as url:
        hub = services_of(app).live.hub
        async with open_events(url) as first, open_events(url) as second:
            assert (await first.next()).event == "ready"
            assert (await second.next()).event == "ready"
            assert hub.subscriber_count == 2
            await wait_for(lambda: "ping" in first.comments, "no heartbeat comment")
        await wait_for(lambda: hub.subscriber_count == 0, "a closed stream stayed subscribed")


async def test_losing_access_ends_the_stream_at_the_next_heartbeat(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    app = compute_app(broker, tmp_path, no_auth=False)  # a fresh store starts in guest mode
    with serve_app(app) as url:
        async with open_events(url) as stream:
            assert (await stream.next()).event == "ready"
            # Guest mode checks nothing, not even on /admin, so switching it off needs no token.
            switched = await asyncio.to_thread(
                httpx.put, f"{url}/admin/config/guest-mode", data={"guest_mode": "false"}
            )
            assert switched.status_code == 200, switched.text
            denied = await stream.next(within_s=10)
            await asyncio.wait_for(stream.ended.wait(), 10)
    assert denied.event == "denied"
    assert denied.json() == {"detail": "Authentication required"}


def test_shutdown_is_not_held_by_open_streams(broker: EmbeddedBroker, tmp_path: Path) -> None:
    app = compute_app(broker, tmp_path, no_auth=True)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        http="h11",
        ws="none",
        # Far above what the test allows: the stream must end because of the shutdown itself.
        timeout_graceful_shutdown=30,
    )
    server = StreamClosingServer(config, close_streams=lambda: close_live_streams(app))
    thread = threading.Thread(target=server.run, name="stream-closing-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port: int = server.servers[0].sockets[0].getsockname()[1]

    with httpx.stream("GET", f"http://127.0.0.1:{port}/events", timeout=10) as response:
        lines = response.iter_lines()
        assert next(lines) == "retry: 3000"
        started = time.monotonic()
        server.should_exit = True
        rest = list(lines)  # returns once the server ends the response
    assert any(line.startswith("event: ready") for line in rest)
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5
