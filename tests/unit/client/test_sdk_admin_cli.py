"""``cl-admin``: users by name and guest-mode switches, against in-memory fake services."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cl_client.auth_client import AuthClient
from cl_client.cli import admin
from tests.unit.client.sdk_fakes import FakeAuthServer, FakeComputeServer

runner = CliRunner()
CREDS = ["--auth-url", "http://auth.test", "--username", "admin", "--password", "secret"]


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> FakeAuthServer:
    server = FakeAuthServer()
    monkeypatch.setattr(
        admin, "AuthClient", lambda url: AuthClient(url, transport=server.transport())
    )
    return server


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeComputeServer]:
    fakes = {"http://compute.test": FakeComputeServer(), "http://store.test": FakeComputeServer()}

    def session(base_url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, transport=fakes[base_url].transport())

    monkeypatch.setattr(admin, "service_session", session)
    return fakes


def invoke(*args: str) -> Any:
    return runner.invoke(admin.app, list(args))


def test_users_by_name(auth: FakeAuthServer) -> None:
    result = invoke(*CREDS, "users", "create", "carol", "--password", "pw", "--permissions", "a, b")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["permissions"] == ["a", "b"]
    result = invoke(*CREDS, "users", "list")
    assert "carol" in result.stdout
    result = invoke(*CREDS, "users", "update", "carol", "--admin", "true", "--permissions", "")
    user = json.loads(result.stdout)
    assert user["is_admin"] is True and user["permissions"] == []
    result = invoke(*CREDS, "users", "update", "carol", "--admin", "maybe")
    assert result.exit_code == 2
    result = invoke(*CREDS, "users", "delete", "carol")
    assert result.exit_code == 0 and "Deleted user carol" in result.stdout
    result = invoke(*CREDS, "--json", "users", "delete", "carol")
    assert result.exit_code == 1 and "no user named 'carol'" in json.loads(result.stdout)["error"]
    result = invoke("--auth-url", "http://auth.test", "users", "list")
    assert result.exit_code == 1 and "--username" in result.stderr
    result = invoke("--auth-url", "http://auth.test", "--username", "admin", "--password", "x",
                    "users", "list")  # fmt: skip
    assert result.exit_code == 1 and "login failed" in result.stderr


def test_guest_mode(auth: FakeAuthServer, services: dict[str, FakeComputeServer]) -> None:
    urls = ["--compute-url", "http://compute.test", "--store-url", "http://store.test"]
    result = invoke(*CREDS, "config", *urls, "get-guest-mode", "--service", "compute")
    assert result.exit_code == 0 and result.stdout.strip() == "on"
    result = invoke(*CREDS, "config", *urls, "set-guest-mode", "compute", "off")
    assert result.exit_code == 0, result.output
    assert services["http://compute.test"].guest_mode is False
    assert services["http://store.test"].guest_mode is True
    put = services["http://compute.test"].requests[-1]
    assert put.headers["authorization"] == f"Bearer {auth.issued[-1]}"
    result = invoke(*CREDS, "--json", "config", *urls, "get-guest-mode", "--service", "compute")
    assert json.loads(result.stdout) == {"service": "compute", "guest_mode": "off"}
    result = invoke(*CREDS, "--json", "config", *urls, "set-guest-mode", "store", "off")
    assert json.loads(result.stdout) == {"service": "store", "guest_mode": "off"}
    assert services["http://store.test"].guest_mode is False


def test_guest_mode_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "ok"})

    transport = {"t": httpx.MockTransport(refuse)}
    monkeypatch.setattr(
        admin, "service_session",
        lambda url: httpx.AsyncClient(base_url=url, transport=transport["t"]),
    )  # fmt: skip
    result = invoke(
        "config", "--store-url", "http://s.test", "get-guest-mode", "--service", "store"
    )
    assert result.exit_code == 1 and "cannot reach http://s.test" in result.stderr
    transport["t"] = httpx.MockTransport(odd)
    result = invoke(
        "config", "--store-url", "http://s.test", "get-guest-mode", "--service", "store"
    )
    assert result.exit_code == 1 and "does not report guestMode" in result.stderr
