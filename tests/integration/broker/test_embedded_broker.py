"""The embedded amqtt broker does what the services rely on (PROTOCOL §5), seen by paho-mqtt 2.x."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from cl_client.paho_shutdown import shut_down_paho_client
from cl_server.broker import EmbeddedBroker, broker_reachable, embedded, run_broker
from cl_server.broker.credentials import ServiceCredentials, generate_service_credentials
from cl_server.broker.embedded import BrokerStartError, ephemeral_range_start, pick_free_port
from cl_server.broker.server import _enable_tcp_keepalive  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.integration

WAIT = 10.0
"""Upper bound for any single expected event; tests wait on events, never sleep."""


class BrokerAddress(Protocol):
    """Where a broker listens: ``EmbeddedBroker`` or the tests' ``MosquittoBroker``."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


class MqttTestClient:
    """A paho client on its own network thread that records what it receives.

    ``on_connect`` re-subscribes every topic subscribed so far, so the client survives broker
    restarts the way the services do. With ``credentials`` it logs in as the service account
    (the only one that may publish); without, it is anonymous (subscribe-only).
    """

    def __init__(
        self,
        broker: BrokerAddress,
        client_id: str,
        *,
        credentials: ServiceCredentials | None = None,
        clean_session: bool = True,
    ) -> None:
        self.broker = broker
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
        )
        if credentials is not None:
            self.client.username_pw_set(credentials.username, credentials.password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connects: queue.Queue[int] = queue.Queue()
        self.disconnected = threading.Event()
        self._subacks: dict[int, threading.Event] = {}
        self._topics: list[tuple[str, int]] = []
        self._connect_count = 0
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if not rc.is_failure:
            self.disconnected.clear()
            for topic, qos in self._topics:
                client.subscribe(topic, qos)
            self._connect_count += 1
            self.connects.put(self._connect_count)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, _rc: ReasonCode, _p: Any) -> None:
        self.disconnected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put(message)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        self._subacks.setdefault(mid, threading.Event()).set()

    def connect(self) -> None:
        self.client.connect(self.broker.host, self.broker.port, keepalive=60)
        self.client.loop_start()
        assert self.connects.get(timeout=WAIT) >= 1

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe and return once the broker has acknowledged (SUBACK)."""
        self._topics.append((topic, qos))
        result, mid = self.client.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS
        assert mid is not None
        assert self._subacks.setdefault(mid, threading.Event()).wait(WAIT), "no SUBACK"

    def publish(
        self, topic: str, payload: bytes | None, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and return once the broker acknowledged it (PUBACK for QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(WAIT)
        assert info.is_published()

    def next_message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=WAIT)

    def close(self) -> None:
        shut_down_paho_client(self.client)


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker("127.0.0.1", 0) as running:
        yield running


@pytest.fixture
def make_client(broker: EmbeddedBroker) -> Iterator[Callable[..., MqttTestClient]]:
    made: list[MqttTestClient] = []
    counter = iter(range(1_000_000))

    def make(client_id: str | None = None, *, anonymous: bool = False) -> MqttTestClient:
        """A connected client; the service account unless ``anonymous``."""
        client = MqttTestClient(
            broker,
            client_id or f"test-client-{next(counter)}",
            credentials=None if anonymous else broker.credentials,
        )
        client.connect()
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


MakeClient = Callable[..., MqttTestClient]


def test_reachable_only_while_running() -> None:
    broker = EmbeddedBroker("127.0.0.1", 0)
    broker.start()
    try:
        assert broker.port != 0
        assert broker_reachable(broker.host, broker.port)
    finally:
        broker.stop()
    assert not broker_reachable(broker.host, broker.port)


def test_qos1_publish_subscribe_round_trip(make_client: MakeClient) -> None:
    subscriber = make_client()
    subscriber.subscribe("inference/events", qos=1)
    publisher = make_client()

    publisher.publish("inference/events", b'{"job_id": "j1"}', qos=1)

    message = subscriber.next_message()
    assert message.topic == "inference/events"
    assert message.payload == b'{"job_id": "j1"}'
    assert message.qos == 1
    assert not message.retain


def test_messages_from_one_publisher_arrive_in_order(make_client: MakeClient) -> None:
    # Job events of one job (queued → processing → completed) must not be reordered.
    subscriber = make_client()
    subscriber.subscribe("inference/events", qos=1)
    publisher = make_client()

    sent = [f"event-{i}".encode() for i in range(50)]
    infos = [publisher.client.publish("inference/events", p, qos=1) for p in sent]
    for info in infos:
        info.wait_for_publish(WAIT)

    received = [subscriber.next_message().payload for _ in sent]
    assert received == sent


def test_retained_message_reaches_late_subscriber(make_client: MakeClient) -> None:
    witness = make_client()
    witness.subscribe("inference/workers/+")
    publisher = make_client()

    publisher.publish("inference/workers/w1", b'{"worker_id": "w1"}', retain=True)
    # The broker stores a retained message before it forwards it, so once the witness has it the
    # late subscriber below must get it too.
    assert witness.next_message().payload == b'{"worker_id": "w1"}'

    late = make_client()
    late.subscribe("inference/workers/+")
    message = late.next_message()
    assert message.topic == "inference/workers/w1"
    assert message.payload == b'{"worker_id": "w1"}'
    assert message.retain


def _assert_nothing_retained(late: MqttTestClient, topic: str) -> None:
    """After SUBACK, publish a marker on the topic: it must be the first message that arrives.

    The broker finishes a subscription (SUBACK, then any retained message) before it reads the
    next packet from the same client, so a retained message would arrive before the marker.
    """
    late.subscribe(topic)
    late.publish(topic, b"marker", retain=False)
    first = late.next_message()
    assert (first.payload, first.retain) == (b"marker", False)


def test_empty_retained_payload_clears_it(make_client: MakeClient) -> None:
    witness = make_client()
    witness.subscribe("inference/workers/w2")
    publisher = make_client()

    publisher.publish("inference/workers/w2", b"alive", retain=True)
    assert witness.next_message().payload == b"alive"
    publisher.publish("inference/workers/w2", None, retain=True)
    assert witness.next_message().payload == b""

    _assert_nothing_retained(make_client(), "inference/workers/w2")


def _connect_by_hand(
    broker: EmbeddedBroker, client_id: str, *, will_topic: str, keepalive: int
) -> mqtt.Client:
    """A client with an empty retained Last Will on ``will_topic``, connected and driven by
    ``loop()`` (no network thread), so a test can drop its socket or let it go silent."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(broker.credentials.username, broker.credentials.password)
    client.will_set(will_topic, payload=None, qos=1, retain=True)
    connected = threading.Event()

    def on_connect(*_args: object) -> None:
        connected.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port, keepalive=keepalive)
    while not connected.is_set():
        assert client.loop(timeout=0.1) == mqtt.MQTT_ERR_SUCCESS
    return client


def test_last_will_on_dropped_socket(broker: EmbeddedBroker, make_client: MakeClient) -> None:
    topic = "inference/workers/w3"
    witness = make_client()
    witness.subscribe(topic)

    # A worker as in PROTOCOL §5.4: empty retained Last Will, then its retained capability.
    # Driven by hand (no network thread) so the socket can be dropped without a DISCONNECT.
    dying = _connect_by_hand(broker, "worker-w3", will_topic=topic, keepalive=60)
    info = dying.publish(topic, b'{"worker_id": "w3"}', qos=1, retain=True)
    while not info.is_published():
        assert dying.loop(timeout=0.1) == mqtt.MQTT_ERR_SUCCESS
    assert witness.next_message().payload == b'{"worker_id": "w3"}'

    sock = dying.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)  # the process "dies": no DISCONNECT packet is sent
    sock.close()

    will = witness.next_message()
    assert will.topic == topic
    assert will.payload == b""
    # The will was retained with an empty payload, which clears the capability message.
    _assert_nothing_retained(make_client(), topic)


@pytest.mark.xfail(
    strict=True,
    reason="amqtt 0.12.1 does not enforce the MQTT keep-alive (MQTT-3.1.2-24): "
    "BrokerProtocolHandler.handle_read_timeout is a no-op, so a client that goes silent "
    "with its socket still open is never dropped and its Last Will never fires. "
    "TCP keep-alive (set by run_broker) covers vanished hosts; Mosquitto covers all cases.",
)
def test_last_will_when_keepalive_expires(broker: EmbeddedBroker, make_client: MakeClient) -> None:
    topic = "inference/workers/w5"
    witness = make_client()
    witness.subscribe(topic)
    silent = _connect_by_hand(broker, "worker-w5", will_topic=topic, keepalive=1)
    try:
        # The client stops talking (a frozen process) but its socket stays open. A compliant
        # broker drops it after 1.5 x keep-alive = 1.5 s and publishes the will.
        will = witness.messages.get(timeout=4.0)
        assert (will.topic, will.payload) == (topic, b"")
    finally:
        sock = silent.socket()
        if isinstance(sock, socket.socket):
            sock.close()


class _SocketWriter:
    """Just enough of asyncio.StreamWriter for _enable_tcp_keepalive."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


def test_broker_sockets_use_tcp_keepalive() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()),
    ):
        accepted, _ = server.accept()
        with accepted:
            assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
            _enable_tcp_keepalive(_SocketWriter(accepted))  # pyright: ignore[reportArgumentType]
            assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            if hasattr(socket, "TCP_KEEPIDLE"):  # Linux
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


def test_keepalive_is_set_on_uvloop_sockets_too() -> None:
    # The broker process runs on uvloop, whose transports hand out a PseudoSocket, not a socket.
    uvloop = pytest.importorskip(
        "uvloop", reason="uvloop is not installed here (Windows); the broker runs on asyncio's"
    )
    seen: list[int] = []

    async def serve_one() -> None:
        async def accepted(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            _enable_tcp_keepalive(writer)
            sock = writer.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
            writer.close()

        server = await asyncio.start_server(accepted, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_one())
    assert seen == [1]


def test_graceful_disconnect_does_not_fire_will(
    broker: EmbeddedBroker, make_client: MakeClient
) -> None:
    topic = "inference/workers/w4"
    witness = make_client()
    witness.subscribe(topic)
    worker = MqttTestClient(broker, "worker-w4", credentials=broker.credentials)
    worker.client.will_set(topic, payload=None, qos=1, retain=True)
    worker.connect()
    worker.publish(topic, b"up", retain=True)
    assert witness.next_message().payload == b"up"

    worker.close()
    assert worker.disconnected.wait(WAIT)
    # Only the marker may follow: no will message after a clean DISCONNECT.
    witness.publish(topic, b"marker")
    assert witness.next_message().payload == b"marker"


def test_stop_then_start_on_same_port_clients_reconnect(
    broker: EmbeddedBroker, make_client: MakeClient
) -> None:
    subscriber = make_client()
    subscriber.subscribe("inference/events")
    port = broker.port
    assert subscriber.connects.qsize() == 0

    broker.stop()
    assert not broker_reachable(broker.host, port)
    assert subscriber.disconnected.wait(WAIT)

    broker.start()
    assert broker.port == port
    assert subscriber.connects.get(timeout=WAIT) == 2  # paho reconnected; on_connect resubscribed

    publisher = make_client()
    # The resubscription is in flight after on_connect; its SUBACK precedes any message the
    # broker routes to it, so keep publishing markers until one arrives.
    publisher.publish("inference/events", b"after-restart")
    while True:
        message = subscriber.next_message()
        if message.payload == b"after-restart":
            break


def test_start_fails_readably_when_port_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        broker = EmbeddedBroker("127.0.0.1", port, start_timeout=10)
        with pytest.raises(BrokerStartError, match=f"127.0.0.1:{port}"):
            broker.start()
        assert not broker.running


def test_picked_port_is_free_and_below_the_ephemeral_range() -> None:
    port = pick_free_port("127.0.0.1")
    assert embedded.LOWEST_PICKED_PORT <= port < ephemeral_range_start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_picked_port_falls_back_to_any_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "ephemeral_range_start", lambda: 1024)
    port = pick_free_port("127.0.0.1")
    assert port >= 1024
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


async def test_run_broker_serves_until_cancelled() -> None:
    port = pick_free_port("127.0.0.1")
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_broker("127.0.0.1", port, credentials=generate_service_credentials(), ready=ready)
    )
    await asyncio.wait_for(ready.wait(), WAIT)
    assert await asyncio.to_thread(broker_reachable, "127.0.0.1", port)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await asyncio.to_thread(broker_reachable, "127.0.0.1", port)
