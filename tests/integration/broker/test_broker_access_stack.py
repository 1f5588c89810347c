"""The secured broker with the real services: compute's worker registry only trusts the service
account's capability messages, and ``cl-server up`` runs jobs with generated credentials."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from cl_client.topics import WORKER_TOPIC_FILTER, worker_topic
from cl_server.broker.credentials import SERVICE_USERNAME, load_or_create_service_credentials
from cl_server.settings import MqttSettings
from cl_server.timeutil import now_ms
from tests.integration.broker.test_embedded_broker import MqttTestClient
from tests.support.cli_stack import cl_server_up
from tests.support.event_recorder import recording_events
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.stack import running_stack

pytestmark = pytest.mark.integration


def capability(worker_id: str) -> bytes:
    message = {
        "worker_id": worker_id,
        "capabilities": ["hash"],
        "idle_count": 1,
        "timestamp": now_ms(),
    }
    return json.dumps(message).encode()


def listed_workers(compute_url: str) -> list[str]:
    body: dict[str, Any] = httpx.get(f"{compute_url}/workers", timeout=10).json()
    return sorted(w["worker_id"] for w in body["workers"] if w["state"] != "gone")


def test_registry_ignores_forged_and_mismatched_capability_messages(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=0) as stack:
        url = stack.compute_url
        service = MqttTestClient(stack.broker, "test-service", credentials=stack.mqtt_credentials)
        intruder = MqttTestClient(stack.broker, "test-intruder")
        service.connect()
        intruder.connect()
        try:
            # The service account itself, but the payload names another worker than the topic.
            service.publish(worker_topic("spoof"), capability("victim"), retain=True)
            # Anonymous: dropped by the broker, whatever it says.
            intruder.publish(worker_topic("anon-fake"), capability("anon-fake"), retain=True)
            # A valid message after both (same publisher as the mismatched one: arrives after it).
            service.publish(worker_topic("marker-1"), capability("marker-1"), retain=True)
            stack.wait_for_workers(1, timeout=10)  # marker-1
            assert listed_workers(url) == ["marker-1"]
            caps = httpx.get(f"{url}/capabilities", timeout=10).json()
            assert caps["num_workers"] == 1
            assert caps["capabilities"] == {"hash": 1}

            # An anonymous "worker gone" for a real worker changes nothing either.
            intruder.publish(worker_topic("marker-1"), None, retain=True)
            service.publish(worker_topic("marker-2"), capability("marker-2"), retain=True)
            stack.wait_for_workers(2, timeout=10)  # marker-2
            assert listed_workers(url) == ["marker-1", "marker-2"]
        finally:
            service.close()
            intruder.close()


def test_up_runs_a_job_with_generated_service_credentials(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "up.jpg")
    with cl_server_up(tmp_path, ["--no-auth"], workers=1, tasks="hash") as stack:
        credentials_file = MqttSettings(data_dir=stack.data_dir).service_credentials_path
        assert credentials_file == stack.data_dir / "keys" / "mqtt-service.json"
        assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(credentials_file.parent.stat().st_mode) == 0o700
        credentials = load_or_create_service_credentials(credentials_file)  # reads, never remakes
        assert credentials.username == SERVICE_USERNAME
        assert f"service account {SERVICE_USERNAME!r} only ({credentials_file})" in stack.output
        assert credentials.password not in stack.output

        forged = {"job_id": "forged-job", "event_type": "completed", "timestamp": 1, "progress": 0}
        with recording_events(
            "127.0.0.1", stack.mqtt_port, extra_topics=[WORKER_TOPIC_FILTER]
        ) as reader:  # anonymous, like the SDK
            reader.publish("inference/events", json.dumps(forged))  # dropped by the broker
            job_id = submit_ok(stack.compute_url, "hash", image)
            assert wait_for_status(stack.compute_url, job_id, timeout=60)["status"] == "completed"
            assert reader.wait_for(lambda: "completed" in reader.kinds(job_id), timeout=10), (
                reader.events
            )
            assert reader.kinds("forged-job") == []
        assert reader.kinds(job_id)[0] == "queued"  # compute's event: it published too
    assert stack.process.returncode == 0, stack.output
