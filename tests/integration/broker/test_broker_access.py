"""Only the service account publishes; anonymous clients read (issue 11, docs/broker.md).

Each test runs against the embedded broker and against a real Mosquitto started with the files
``cl-server broker mosquitto-config`` writes. Clients are real paho clients (and the SDK's own
``MQTTJobMonitor``). A message that must *not* arrive is checked with a marker: a real message
published afterwards by the service account; the subscriber sees messages in the order the
broker accepted them, so once the marker is in, a forbidden message would have been too.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from cl_client.models import JobResponse
from cl_client.mqtt_monitor import MQTTJobMonitor
from cl_client.paho_shutdown import shut_down_paho_client
from cl_client.topics import JOB_EVENTS_TOPIC, WORKER_TOPIC_FILTER, worker_topic
from cl_server.broker import EmbeddedBroker, broker_reachable
from cl_server.broker.credentials import (
    ServiceCredentials,
    generate_service_credentials,
    load_or_create_service_credentials,
)
from cl_server.cli import app as cl_server_app
from cl_server.mqtt.events import WORKER_WAKE_TOPIC
from cl_server.settings import MqttSettings
from tests.integration.broker.test_embedded_broker import WAIT, MqttTestClient
from tests.support.cli_stack import free_port
from tests.support.mosquitto import MOSQUITTO, current_user

pytestmark = pytest.mark.integration


@dataclass
class SecuredBroker:
    host: str
    port: int
    credentials: ServiceCredentials


def _start_mosquitto(config: Path, port: int) -> subprocess.Popen[bytes]:
    assert MOSQUITTO is not None
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 10
    while not broker_reachable("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"mosquitto did not start: {err.decode(errors='replace')}")
        time.sleep(0.05)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    if process.stderr is not None:
        process.stderr.close()


def mosquitto_from_cli(tmp_path: Path) -> tuple[subprocess.Popen[bytes], SecuredBroker]:
    """``cl-server broker mosquitto-config``, then Mosquitto with exactly what it wrote."""
    data_dir = tmp_path / "data"
    out_dir = tmp_path / "mosquitto"
    port = free_port()
    result = CliRunner().invoke(
        cl_server_app,
        [
            "broker", "mosquitto-config",
            "--output-dir", str(out_dir),
            "--port", str(port),
            "--run-as", current_user(),  # started as root, Mosquitto would drop to `mosquitto`
        ],
        env={"CL_SERVER_DIR": str(data_dir)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    credentials_file = MqttSettings(data_dir=data_dir).service_credentials_path
    credentials = load_or_create_service_credentials(credentials_file)
    assert credentials.password not in result.output  # never printed
    assert f"mosquitto -c {out_dir / 'mosquitto.conf'}" in result.output
    process = _start_mosquitto(out_dir / "mosquitto.conf", port)
    return process, SecuredBroker("127.0.0.1", port, credentials)


@pytest.fixture(
    params=[
        "embedded",
        pytest.param(
            "mosquitto",
            marks=[
                pytest.mark.mosquitto,
                pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto binary not installed"),
            ],
        ),
    ]
)
def secured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecuredBroker]:
    if request.param == "embedded":
        credentials = generate_service_credentials()
        with EmbeddedBroker("127.0.0.1", 0, credentials=credentials) as broker:
            yield SecuredBroker(broker.host, broker.port, credentials)
        return
    process, broker = mosquitto_from_cli(tmp_path)
    try:
        yield broker
    finally:
        _stop(process)


MakeClient = Callable[..., MqttTestClient]


@pytest.fixture
def make_client(secured: SecuredBroker) -> Iterator[MakeClient]:
    made: list[MqttTestClient] = []
    counter = iter(range(1_000_000))

    def make(
        *,
        service: bool = False,
        will_topic: str | None = None,
        client_id: str | None = None,
        clean_session: bool = True,
    ) -> MqttTestClient:
        """A connected client: anonymous unless ``service``."""
        client = MqttTestClient(
            secured,
            client_id or f"access-test-{next(counter)}",
            credentials=secured.credentials if service else None,
            clean_session=clean_session,
        )
        if will_topic is not None:
            client.client.will_set(will_topic, payload=None, qos=1, retain=True)
        client.connect()
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _first_message(client: MqttTestClient) -> tuple[str, bytes, bool]:
    message = client.next_message()
    return message.topic, bytes(message.payload), bool(message.retain)


def _retained_seen_by_newcomer(make_client: MakeClient, marker_topic: str) -> list[str]:
    """Topics of the retained capability messages a fresh anonymous subscriber is sent.

    ``marker_topic`` holds a retained message the service account published last; it bounds
    the replay (amqtt and Mosquitto send all retained matches right after the SUBACK).
    """
    newcomer = make_client()
    newcomer.subscribe(WORKER_TOPIC_FILTER)
    topics: list[str] = []
    while marker_topic not in topics:
        message = newcomer.next_message()
        assert message.retain
        topics.append(message.topic)
    return sorted(topics)


def test_service_publishes_and_anonymous_subscriber_receives(make_client: MakeClient) -> None:
    reader = make_client()
    reader.subscribe(JOB_EVENTS_TOPIC)
    reader.subscribe(WORKER_TOPIC_FILTER)
    service = make_client(service=True)

    service.publish(JOB_EVENTS_TOPIC, b'{"job_id": "j1", "event_type": "queued"}')
    service.publish(worker_topic("w1"), b'{"worker_id": "w1"}', retain=True)

    assert _first_message(reader) == (
        JOB_EVENTS_TOPIC,
        b'{"job_id": "j1", "event_type": "queued"}',
        False,
    )
    assert _first_message(reader)[:2] == (worker_topic("w1"), b'{"worker_id": "w1"}')


def test_anonymous_publish_is_dropped_and_the_connection_stays(
    make_client: MakeClient,
) -> None:
    reader = make_client()
    reader.subscribe(JOB_EVENTS_TOPIC)
    reader.subscribe(WORKER_TOPIC_FILTER)
    service = make_client(service=True)
    service.publish(worker_topic("real"), b'{"worker_id": "real"}', retain=True)
    assert _first_message(reader)[0] == worker_topic("real")

    intruder = make_client()
    # Both brokers acknowledge (PUBACK) and drop the message; the session stays up.
    intruder.publish(JOB_EVENTS_TOPIC, b'{"job_id": "j1", "event_type": "completed"}')
    intruder.publish(worker_topic("fake"), b'{"worker_id": "fake"}', retain=True)
    intruder.publish(worker_topic("real"), None, retain=True)  # "worker gone"
    assert intruder.client.is_connected()
    assert not intruder.disconnected.is_set()

    service.publish(JOB_EVENTS_TOPIC, b"marker")
    assert _first_message(reader) == (JOB_EVENTS_TOPIC, b"marker", False)

    service.publish(worker_topic("zz-marker"), b'{"worker_id": "zz-marker"}', retain=True)
    assert _first_message(reader)[0] == worker_topic("zz-marker")
    # Nothing fake was retained and the real worker's message was not cleared.
    assert _retained_seen_by_newcomer(make_client, worker_topic("zz-marker")) == [
        worker_topic("real"),
        worker_topic("zz-marker"),
    ]


def test_anonymous_client_resuming_a_service_session_still_cannot_publish(
    make_client: MakeClient,
) -> None:
    # amqtt hands a returning client id its old session object (clean_session=False); the
    # right to publish must follow the account that connected now, not the session's past.
    reader = make_client()
    reader.subscribe(JOB_EVENTS_TOPIC)
    service = make_client(service=True, client_id="resumed-session", clean_session=False)
    service.publish(JOB_EVENTS_TOPIC, b"from the service")
    assert _first_message(reader) == (JOB_EVENTS_TOPIC, b"from the service", False)
    service.close()

    intruder = make_client(client_id="resumed-session", clean_session=False)
    intruder.publish(JOB_EVENTS_TOPIC, b"forged")
    marker = make_client(service=True)
    marker.publish(JOB_EVENTS_TOPIC, b"marker")
    assert _first_message(reader) == (JOB_EVENTS_TOPIC, b"marker", False)


def test_anonymous_last_will_is_not_published(make_client: MakeClient) -> None:
    reader = make_client()
    reader.subscribe(WORKER_TOPIC_FILTER)
    service = make_client(service=True)
    service.publish(worker_topic("real"), b'{"worker_id": "real"}', retain=True)
    assert _first_message(reader)[0] == worker_topic("real")

    # An anonymous client whose will would clear the worker's message, then "crashes".
    intruder = make_client(will_topic=worker_topic("real"))
    sock = intruder.client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)
    assert intruder.disconnected.wait(WAIT)

    service.publish(worker_topic("zz-marker"), b'{"worker_id": "zz-marker"}', retain=True)
    assert _first_message(reader)[0] == worker_topic("zz-marker")  # no empty will before it
    assert _retained_seen_by_newcomer(make_client, worker_topic("zz-marker")) == [
        worker_topic("real"),
        worker_topic("zz-marker"),
    ]


def test_anonymous_clients_read_nothing_but_the_cl_server_topics(
    make_client: MakeClient,
) -> None:
    snoop = make_client()
    snoop.subscribe("#")  # embedded: SUBACK 0x80; Mosquitto: granted, but delivers nothing
    snoop.subscribe("private/+")
    snoop.subscribe(WORKER_WAKE_TOPIC)  # the service's own, not PROTOCOL's
    snoop.subscribe(JOB_EVENTS_TOPIC)
    service = make_client(service=True)

    service.publish("private/state", b"secret")
    service.publish(WORKER_WAKE_TOPIC, b"secret")
    service.publish(JOB_EVENTS_TOPIC, b"marker")
    topic, payload, _ = _first_message(snoop)
    assert (topic, payload) == (JOB_EVENTS_TOPIC, b"marker")


def _connack(secured: SecuredBroker, username: str, password: str) -> ReasonCode:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"login-{username}")
    client.username_pw_set(username, password)
    answered = threading.Event()
    codes: list[ReasonCode] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        codes.append(rc)
        answered.set()

    client.on_connect = on_connect
    client.connect(secured.host, secured.port)
    client.loop_start()
    try:
        assert answered.wait(WAIT), "no CONNACK"
    finally:
        shut_down_paho_client(client)
    return codes[0]


def test_wrong_password_or_unknown_user_is_refused(secured: SecuredBroker) -> None:
    assert not _connack(
        secured, secured.credentials.username, secured.credentials.password
    ).is_failure
    for username, password in (
        (secured.credentials.username, "not-the-password"),
        ("someone", secured.credentials.password),
    ):
        code = _connack(secured, username, password)
        assert code.is_failure
        assert code.value in (4, 5, 134, 135), code  # bad credentials / not authorised


async def test_sdk_monitor_reads_real_events_and_ignores_forged_ones(
    secured: SecuredBroker, make_client: MakeClient
) -> None:
    monitor = await asyncio.to_thread(MQTTJobMonitor, secured.host, secured.port)
    try:
        assert monitor._connected  # pyright: ignore[reportPrivateUsage]
        completed: list[JobResponse] = []
        done = asyncio.Event()

        def on_complete(job: JobResponse) -> None:
            completed.append(job)
            done.set()

        monitor.subscribe_job_updates("job-1", on_complete=on_complete, task_type="hash")
        forged = {"job_id": "job-1", "event_type": "completed", "timestamp": 1, "progress": 100}
        intruder = make_client()
        await asyncio.to_thread(intruder.publish, JOB_EVENTS_TOPIC, json.dumps(forged).encode())
        service = make_client(service=True)
        real = {"job_id": "job-1", "event_type": "failed", "timestamp": 2, "progress": 40}
        await asyncio.to_thread(service.publish, JOB_EVENTS_TOPIC, json.dumps(real).encode())

        await asyncio.wait_for(done.wait(), WAIT)
        # The first terminal event to arrive was the service's: the forged one never came.
        assert [(job.status, job.progress) for job in completed] == [("failed", 40)]
    finally:
        monitor.close()


def test_mosquitto_config_files(tmp_path: Path) -> None:
    """What ``mosquitto-config`` writes, without starting a broker (runs without Mosquitto)."""
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        cl_server_app,
        ["broker", "mosquitto-config", "--port", "18830", "--bind", "0.0.0.0"],
        env={"CL_SERVER_DIR": str(data_dir)},
    )
    assert result.exit_code == 0, result.output
    out_dir = data_dir / "mosquitto"  # the default
    config = (out_dir / "mosquitto.conf").read_text()
    assert "listener 18830 0.0.0.0\n" in config
    assert f"password_file {out_dir / 'passwd'}\n" in config
    assert f"acl_file {out_dir / 'acl'}\n" in config
    assert "allow_anonymous true\n" in config
    assert "user " not in config  # no --run-as: Mosquitto's default account
    assert stat.S_IMODE((out_dir / "passwd").stat().st_mode) == 0o600
    credentials_file = data_dir / "keys" / "mqtt-service.json"
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    username = json.loads(credentials_file.read_text())["username"]
    (line,) = (out_dir / "passwd").read_text().splitlines()
    assert line.startswith(f"{username}:$7$101$")
    acl = (out_dir / "acl").read_text()
    anonymous_part, service_part = acl.split(f"user {username}\n")
    assert "topic read inference/events\n" in anonymous_part
    assert "topic read inference/workers/+\n" in anonymous_part
    assert "write" not in anonymous_part
    assert "topic readwrite #\n" in service_part
    assert os.access(out_dir / "mosquitto.conf", os.R_OK)
