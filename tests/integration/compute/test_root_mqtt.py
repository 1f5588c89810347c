"""``GET /`` of a running compute service tells clients where the MQTT broker is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cl_client import ComputeClient
from cl_client.mqtt_monitor import MQTTJobMonitor
from cl_server.compute.app import create_app
from cl_server.settings import ComputeSettings
from tests.support.stack import Stack, running_stack
from tests.support.uvicorn_thread import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("root-mqtt"), mode="no-auth", workers=0) as stack:
        yield stack


async def test_root_reports_the_broker_it_uses_and_clients_can_connect(
    broker_stack: Stack,
) -> None:
    async with httpx.AsyncClient() as http:
        info = (await http.get(f"{broker_stack.compute_url}/")).json()
    assert info["mqtt_host"] == broker_stack.mqtt_host
    assert info["mqtt_port"] == broker_stack.mqtt_port
    # The original keys are still there.
    assert {"status", "service", "version", "guestMode", "auth_required"} <= set(info)

    async with ComputeClient(broker_stack.compute_url, mqtt_port=1) as client:
        service = await client.get_service_info()
    assert service.mqtt_host == broker_stack.mqtt_host
    assert service.mqtt_port == broker_stack.mqtt_port

    monitor = MQTTJobMonitor(service.mqtt_host, service.mqtt_port)
    try:
        assert monitor._connected
    finally:
        monitor.close()


def test_public_mqtt_address_overrides_the_one_the_service_uses(
    broker_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CL_MQTT_PUBLIC_HOST", "mqtt.example.org")
    monkeypatch.setenv("CL_MQTT_PUBLIC_PORT", "8883")
    settings = ComputeSettings(
        data_dir=tmp_path,
        mqtt_host=broker_stack.mqtt_host,
        mqtt_port=broker_stack.mqtt_port,
        no_auth=True,
        auth_url=broker_stack.auth_url,
    )
    assert (settings.mqtt_public_host, settings.mqtt_public_port) == ("mqtt.example.org", 8883)
    with serve_app(create_app(settings)) as url:
        info = httpx.get(f"{url}/").json()
    assert (info["mqtt_host"], info["mqtt_port"]) == ("mqtt.example.org", 8883)
