"""Auth and compute as real uvicorn servers on free ports, auth enforced, for revocation tests.

A stack runs with the embedded MQTT broker or with none at all (compute pointed at a port where
nothing listens): revocation must not depend on MQTT. The auth service can be stopped while
compute keeps running.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from cl_server.auth.app import create_app as create_auth_app
from cl_server.auth.passwords import PasswordHasher
from cl_server.broker import EmbeddedBroker
from cl_server.compute.app import create_app as create_compute_app
from cl_server.compute.revocations import RevocationCache
from cl_server.settings import AuthSettings, ComputeSettings
from cl_server.store import JobStore
from tests.support.cli_stack import free_port
from tests.support.media import make_jpeg
from tests.support.users import bearer
from tests.support.uvicorn_thread import serve_app
from tests.support.waiting import wait_until

Broker = Literal["embedded", "none"]
ADMIN_PASSWORD = "admin-revocation-pw"
USER_PASSWORD = "pw-revocation"
REVOCATION_DEADLINE_S = 5.0
"""The project's promise: a revocation reaches compute within this long."""


@dataclass
class RevocationStack:
    auth_url: str
    compute_url: str
    compute_app: FastAPI
    photo: Path
    auth_exit: ExitStack

    @property
    def revocations(self) -> RevocationCache:
        cache = self.compute_app.state.services.keys.revocations
        assert isinstance(cache, RevocationCache)
        return cache

    def stop_auth(self) -> None:
        self.auth_exit.close()

    def login(self, username: str, password: str = USER_PASSWORD) -> str:
        response = httpx.post(
            f"{self.auth_url}/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def admin(self) -> dict[str, str]:
        return bearer(self.login("admin", ADMIN_PASSWORD))

    def create_user(self, username: str, *, permissions: str = "", is_admin: bool = False) -> int:
        response = httpx.post(
            f"{self.auth_url}/users/",
            data={
                "username": username,
                "password": USER_PASSWORD,
                "permissions": permissions,
                "is_admin": "true" if is_admin else "false",
            },
            headers=self.admin(),
        )
        assert response.status_code == 201, response.text
        user_id: int = response.json()["id"]
        return user_id

    def change_user(self, user_id: int, change: str) -> None:
        """``delete``, or a PUT form such as ``is_active=false``."""
        if change == "delete":
            response = httpx.delete(f"{self.auth_url}/users/{user_id}", headers=self.admin())
            assert response.status_code == 204, response.text
            return
        name, _, value = change.partition("=")
        response = httpx.put(
            f"{self.auth_url}/users/{user_id}", data={name: value}, headers=self.admin()
        )
        assert response.status_code == 200, response.text

    def submit_job(self, token: str) -> str:
        with self.photo.open("rb") as handle:
            response = httpx.post(
                f"{self.compute_url}/jobs/hash",
                files={"file": (self.photo.name, handle, "image/jpeg")},
                headers=bearer(token),
                timeout=30,
            )
        assert response.status_code == 200, response.text
        job_id: str = response.json()["job_id"]
        return job_id

    def get_job_status(self, job_id: str, token: str) -> int:
        response = httpx.get(f"{self.compute_url}/jobs/{job_id}", headers=bearer(token), timeout=10)
        return response.status_code


@contextmanager
def revocation_stack(
    tmp_path: Path, *, broker: Broker, refresh_seconds: float | None = None
) -> Generator[RevocationStack]:
    """Auth + compute (auth enforced, guest mode off), no workers; ``refresh_seconds`` None
    keeps the default of ``CL_REVOCATION_REFRESH_SECONDS``."""
    data_dir = tmp_path / "cl-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if broker == "embedded":
            embedded = EmbeddedBroker("127.0.0.1", 0)
            embedded.start()
            stack.callback(embedded.stop)
            mqtt_host, mqtt_port = embedded.host, embedded.port
        else:
            mqtt_host, mqtt_port = "127.0.0.1", free_port()

        auth_exit = stack.enter_context(ExitStack())
        auth_settings = AuthSettings(data_dir=data_dir, admin_password=SecretStr(ADMIN_PASSWORD))
        auth_app = create_auth_app(auth_settings, password_hasher=PasswordHasher(rounds=4))
        auth_url = auth_exit.enter_context(serve_app(auth_app))

        compute_settings = ComputeSettings(
            data_dir=data_dir, mqtt_host=mqtt_host, mqtt_port=mqtt_port, auth_url=auth_url
        )
        if refresh_seconds is not None:
            compute_settings = compute_settings.model_copy(
                update={"revocation_refresh_seconds": refresh_seconds}
            )
        with JobStore.open(compute_settings.database_url) as store:
            store.set_guest_mode(False, updated_by=None)
        compute_app = create_compute_app(compute_settings)
        compute_url = stack.enter_context(serve_app(compute_app))
        info = httpx.get(f"{compute_url}/").json()
        assert info["auth_required"] is True
        yield RevocationStack(
            auth_url=auth_url,
            compute_url=compute_url,
            compute_app=compute_app,
            photo=make_jpeg(tmp_path / "photo.jpg"),
            auth_exit=auth_exit,
        )


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll every 20 ms until ``predicate()``; return the seconds it took or raise."""
    started = time.monotonic()
    wait_until(predicate, timeout, f"{what}: not within {timeout} s", interval=0.02)
    return time.monotonic() - started


@pytest.fixture(scope="module", params=["embedded", "none"], ids=["mqtt-broker", "no-broker"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RevocationStack]:
    """One stack per module and broker kind, with the default refresh interval."""
    broker: Broker = request.param
    with revocation_stack(tmp_path_factory.mktemp(f"revocation-{broker}"), broker=broker) as s:
        yield s
