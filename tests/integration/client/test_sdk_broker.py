"""MQTT trouble: no broker at all, and a broker that stops mid-run and comes back."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator

import pytest

from cl_client import ComputeClient, MQTTJobMonitor
from tests.integration.client.conftest import CallbackRecorder, Media
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("sdk-broker"), mode="no-auth", workers=1, tasks=["hash", "exif"]
    ) as running:
        yield running


def closed_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def wait_connected(monitor: MQTTJobMonitor, connected: bool, limit: float) -> None:
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    token = monitor.add_connection_listener(lambda _c: loop.call_soon_threadsafe(changed.set))
    try:
        async with asyncio.timeout(limit):
            while monitor.connected != connected:
                changed.clear()
                if monitor.connected == connected:
                    break
                await changed.wait()
    finally:
        monitor.remove_connection_listener(token)


async def test_no_broker_client_still_works_by_polling(
    stack: Stack, media: Media, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cl_client"):
        client = ComputeClient(stack.compute_url, mqtt_broker="127.0.0.1", mqtt_port=closed_port())
    async with client:
        assert client._mqtt._connected is False
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "polling" in warnings[0].getMessage()
        recorder = CallbackRecorder()
        job = await client.hash.compute(
            media.photo, on_progress=recorder.on_progress, on_complete=recorder.on_complete
        )
        assert (await recorder.wait(30)).status == "completed"
        assert recorder.complete[0].job_id == job.job_id
        assert (await client.wait_for_job(job.job_id, timeout=10)).status == "completed"
        assert await client.wait_for_workers(["hash"], timeout=10) is True  # via /capabilities
        caplog.clear()
    # Retries in the background stayed quiet: still the one warning.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_broker_stopped_mid_run_then_back(stack: Stack, media: Media) -> None:
    async with ComputeClient(
        stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port
    ) as client:
        monitor = client._mqtt
        assert monitor._connected is True
        stack.stop_broker()
        try:
            await wait_connected(monitor, False, 15)
            recorder = CallbackRecorder()
            job = await client.hash.compute(media.photo, on_complete=recorder.on_complete)
            done = await client.wait_for_job(job.job_id, timeout=30)
            assert done.status == "completed"
            assert (await recorder.wait(30)).status == "completed"  # driven by polling
        finally:
            stack.start_broker()
        await wait_connected(monitor, True, 30)
        assert monitor.connection_generation >= 2
        # The worker map was rebuilt after the reconnect: a fresh capability message is needed.
        assert await client.wait_for_workers(["exif"], timeout=30) is True
        # Live events again: a new job's callbacks complete over MQTT.
        recorder = CallbackRecorder()
        await client.exif.extract(media.photo, on_complete=recorder.on_complete)
        assert (await recorder.wait(30)).status == "completed"
