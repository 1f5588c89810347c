"""Service credentials: generated once (0600, in a 0700 directory), reused, overridable."""

from __future__ import annotations

import json
import logging
import stat
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from cl_server.broker.credentials import (
    SERVICE_USERNAME,
    ServiceCredentials,
    load_or_create_service_credentials,
    service_credentials,
)
from cl_server.settings import ComputeSettings, MqttSettings, WorkerSettings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_once_owner_only_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "mqtt-service.json"
    first = load_or_create_service_credentials(path)
    assert first.username == SERVICE_USERNAME
    assert len(first.password) >= 40
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert json.loads(path.read_text()) == {"username": first.username, "password": first.password}
    written = path.stat().st_mtime_ns

    assert load_or_create_service_credentials(path) == first
    assert path.stat().st_mtime_ns == written  # read, not rewritten
    assert [p.name for p in path.parent.iterdir()] == ["mqtt-service.json"]  # no temp files


def test_processes_starting_together_agree(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "mqtt-service.json"
    results: list[ServiceCredentials] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(load_or_create_service_credentials(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len(set(results)) == 1
    assert load_or_create_service_credentials(path) == results[0]


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "mqtt-service.json"
    path.parent.mkdir()
    path.write_text('{"username": "svc", "password": "copied-in"}')
    path.chmod(0o644)
    path.parent.chmod(0o755)
    assert load_or_create_service_credentials(path) == ServiceCredentials("svc", "copied-in")
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


@pytest.mark.parametrize(
    "content",
    ["", "not json", "[]", '{"username": "svc"}', '{"username": "", "password": "x"}'],
)
def test_malformed_file_is_replaced(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mqtt-service.json"
    path.write_text(content)
    with caplog.at_level(logging.WARNING):
        made = load_or_create_service_credentials(path)
    assert "malformed" in caplog.text
    assert made.username == SERVICE_USERNAME
    assert load_or_create_service_credentials(path) == made
    assert mode(path) == 0o600


def test_password_never_in_repr() -> None:
    credentials = ServiceCredentials("svc", "s3cret-value")
    assert "s3cret-value" not in repr(credentials)


def test_default_path_is_under_the_data_dir(tmp_path: Path) -> None:
    for settings_type in (MqttSettings, ComputeSettings, WorkerSettings):
        settings = settings_type(data_dir=tmp_path)
        assert settings.service_credentials_path == tmp_path / "keys" / "mqtt-service.json"


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CL_MQTT_CREDENTIALS_FILE", str(tmp_path / "elsewhere.json"))
    assert MqttSettings().service_credentials_path == tmp_path / "elsewhere.json"

    monkeypatch.setenv("CL_MQTT_USERNAME", "external-user")
    monkeypatch.setenv("CL_MQTT_PASSWORD", "external-password")
    settings = WorkerSettings()
    assert service_credentials(settings) == ServiceCredentials("external-user", "external-password")
    assert not (tmp_path / "elsewhere.json").exists()  # the file is not even made


def test_half_an_override_falls_back_to_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = MqttSettings(data_dir=tmp_path, mqtt_username="only-a-name")
    with caplog.at_level(logging.WARNING):
        used = service_credentials(settings)
    assert "Only one of CL_MQTT_USERNAME" in caplog.text
    assert used == load_or_create_service_credentials(settings.service_credentials_path)

    settings = MqttSettings(data_dir=tmp_path, mqtt_password=SecretStr("only-a-password"))
    assert service_credentials(settings) == used
