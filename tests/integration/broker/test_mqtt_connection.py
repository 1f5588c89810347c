"""The services' MQTT connection keeps what is published while the broker is away."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cl_server.broker import EmbeddedBroker
from cl_server.mqtt.connection import MqttConnection
from tests.integration.broker.test_embedded_broker import WAIT, MqttTestClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker("127.0.0.1", 0) as running:
        yield running


def test_messages_published_before_connecting_go_out_in_order(broker: EmbeddedBroker) -> None:
    listener = MqttTestClient(broker, "listener", credentials=broker.credentials)
    listener.connect()
    listener.subscribe("events/#")
    connection = MqttConnection(
        broker.host,
        broker.port,
        client_id_prefix="offline-test",
        username=broker.credentials.username,
        password=broker.credentials.password,
    )
    try:
        for index in range(5):
            connection.publish("events/job", f"{index}".encode())
        connection.start()
        received = [listener.next_message().payload for _ in range(5)]
        assert received == [b"0", b"1", b"2", b"3", b"4"]
    finally:
        connection.stop()
        listener.close()


def test_messages_published_during_an_outage_arrive_after_it(broker: EmbeddedBroker) -> None:
    connection = MqttConnection(
        broker.host,
        broker.port,
        client_id_prefix="outage-test",
        username=broker.credentials.username,
        password=broker.credentials.password,
    )
    connection.start()
    try:
        assert connection.wait_connected(WAIT)
        broker.stop()
        wait_until(lambda: not connection.connected, WAIT, "connection did not notice the outage")
        # Retained, so the listener may subscribe whenever the connection happens to come back.
        for index in range(5):
            connection.publish(f"outage/{index}", b"kept", retain=True)
        broker.start()
        assert connection.wait_connected(WAIT)
        listener = MqttTestClient(broker, "listener", credentials=broker.credentials)
        listener.connect()
        try:
            listener.subscribe("outage/#")
            topics = {listener.next_message().topic for _ in range(5)}
        finally:
            listener.close()
        assert topics == {f"outage/{index}" for index in range(5)}
    finally:
        connection.stop()
