"""Fixtures for auth-service integration tests: the real app under uvicorn, httpx as client."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cl_server.auth.app import create_app
from cl_server.auth.passwords import PasswordHasher
from cl_server.settings import AuthSettings
from tests.support.uvicorn_thread import serve_app

ADMIN_PASSWORD = "admin-test-pw"
# bcrypt's minimum cost keeps the many logins of these tests fast; production uses 12.
FAST_HASHER = PasswordHasher(rounds=4)


def auth_settings(data_dir: Path, **overrides: object) -> AuthSettings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "admin_password": SecretStr(ADMIN_PASSWORD),
        "auth_database_url": None,
    }
    values.update(overrides)
    return AuthSettings.model_validate(values)


@contextmanager
def running_auth(settings: AuthSettings) -> Generator[httpx.Client]:
    """Serve a fresh app for ``settings``; yield an httpx client bound to it."""
    with (
        serve_app(create_app(settings, password_hasher=FAST_HASHER)) as url,
        httpx.Client(base_url=url, timeout=30.0) as client,
    ):
        yield client


def login(client: httpx.Client, username: str, password: str) -> str:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One server for the tests that only add uniquely named users."""
    with running_auth(auth_settings(tmp_path_factory.mktemp("auth-shared"))) as client:
        yield client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    """A fresh server and database for tests that need to know every user."""
    with running_auth(auth_settings(tmp_path / "data")) as fresh:
        yield fresh


@pytest.fixture(scope="module")
def admin_headers(shared_client: httpx.Client) -> dict[str, str]:
    return bearer(login(shared_client, "admin", ADMIN_PASSWORD))


@pytest.fixture
def make_user(
    shared_client: httpx.Client, admin_headers: dict[str, str]
) -> Callable[..., dict[str, object]]:
    """Create a user on the shared server through the API and return its JSON."""

    def make(password: str = "pw-123", **fields: str) -> dict[str, object]:
        data = {"username": unique_name(), "password": password, **fields}
        response = shared_client.post("/users/", data=data, headers=admin_headers)
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body

    return make
