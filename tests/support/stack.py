"""A real CL Server stack for integration tests: embedded broker, auth and compute services on
free ports (uvicorn threads), and workers as real subprocesses (so they can be SIGKILLed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from cl_server.broker import EmbeddedBroker
from cl_server.broker.credentials import ServiceCredentials, load_or_create_service_credentials
from cl_server.settings import AuthSettings, ComputeSettings, MqttSettings
from cl_server.store import JobStore
from tests.support.mosquitto import MosquittoBroker
from tests.support.uvicorn_thread import serve_app

Mode = Literal["no-auth", "guest", "enforced"]
BrokerKind = Literal["embedded", "mosquitto"]
ADMIN_PASSWORD = "admin-test-password"
WORKER_READY_TIMEOUT_S = 60.0


@dataclass
class WorkerProcess:
    worker_id: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to release its job."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@dataclass
class Stack:
    data_dir: Path
    mode: Mode
    compute_url: str
    auth_url: str
    broker: EmbeddedBroker | MosquittoBroker
    env: dict[str, str]
    mqtt_credentials: ServiceCredentials
    """The service account compute and workers publish with (from ``data_dir``)."""
    admin_username: str = "admin"
    admin_password: str = ADMIN_PASSWORD
    workers: list[WorkerProcess] = field(default_factory=list[WorkerProcess])

    @property
    def mqtt_host(self) -> str:
        return self.broker.host

    @property
    def mqtt_port(self) -> int:
        return self.broker.port

    def stop_broker(self) -> None:
        self.broker.stop()

    def start_broker(self) -> None:
        self.broker.start()

    def start_worker(
        self,
        tasks: Sequence[str] | None = None,
        worker_id: str | None = None,
        *,
        burst: bool = False,
        extra_env: dict[str, str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> WorkerProcess:
        worker_id = worker_id or f"test-worker-{len(self.workers) + 1}"
        args = [sys.executable, "-m", "cl_server.cli", "worker", "--worker-id", worker_id]
        if tasks:
            args += ["--tasks", ",".join(tasks)]
        if burst:
            args.append("--burst")
        args += extra_args
        log_path = self.data_dir / f"{worker_id}.log"
        env = {**self.env, **(extra_env or {})}
        with log_path.open("wb") as log:
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        worker = WorkerProcess(worker_id, process, log_path)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = WORKER_READY_TIMEOUT_S) -> None:
        """Block until ``/capabilities`` counts ``count`` live workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            caps = httpx.get(f"{self.compute_url}/capabilities", timeout=5).json()
            if caps["num_workers"] >= count:
                return
            for worker in self.workers:
                if worker.process.poll() is not None:
                    raise RuntimeError(f"worker {worker.worker_id} exited:\n{worker.log()}")
            time.sleep(0.05)
        logs = "\n".join(w.log() for w in self.workers)
        raise TimeoutError(f"{count} worker(s) did not announce themselves:\n{logs}")

    def admin_token(self) -> str:
        response = httpx.post(
            f"{self.auth_url}/auth/token",
            data={"username": self.admin_username, "password": self.admin_password},
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.process.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()


def _service_env(
    data_dir: Path, broker: EmbeddedBroker | MosquittoBroker, auth_url: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env.update(
        {
            "CL_SERVER_DIR": str(data_dir),
            "CL_MQTT_HOST": broker.host,
            "CL_MQTT_PORT": str(broker.port),
            "CL_AUTH_URL": auth_url,
            "CL_LEASE_SECONDS": "3",
            "CL_HEARTBEAT_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextmanager
def running_stack(
    tmp_path: Path,
    *,
    mode: Mode = "no-auth",
    workers: int = 1,
    tasks: Sequence[str] | None = None,
    token_lifetime_minutes: float = 30.0,
    max_upload_bytes: int = 2 * 1024**3,
    broker_kind: BrokerKind = "embedded",
) -> Iterator[Stack]:
    """Start broker, auth, compute and ``workers`` worker processes; tear all down on exit."""
    from cl_server.auth.app import create_app as create_auth_app
    from cl_server.auth.passwords import PasswordHasher
    from cl_server.compute.app import create_app as create_compute_app

    data_dir = tmp_path / "cl-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        # What compute and the workers load from the data directory; only it may publish.
        credentials = load_or_create_service_credentials(
            MqttSettings(data_dir=data_dir).service_credentials_path
        )
        broker = (
            MosquittoBroker(data_dir, credentials=credentials)
            if broker_kind == "mosquitto"
            else EmbeddedBroker("127.0.0.1", 0, credentials=credentials)
        )
        broker.start()
        stack.callback(broker.stop)

        auth_settings = AuthSettings(
            data_dir=data_dir,
            admin_password=ADMIN_PASSWORD,  # pyright: ignore[reportArgumentType]
            token_lifetime_minutes=token_lifetime_minutes,
        )
        # bcrypt's minimum cost keeps logins fast in tests; production uses the default.
        auth_app = create_auth_app(auth_settings, password_hasher=PasswordHasher(rounds=4))
        auth_url = stack.enter_context(serve_app(auth_app))

        if mode == "enforced":
            with JobStore.open(ComputeSettings(data_dir=data_dir).database_url) as store:
                store.set_guest_mode(False, updated_by=None)
        compute_settings = ComputeSettings(
            data_dir=data_dir,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            no_auth=mode == "no-auth",
            auth_url=auth_url,
            lease_seconds=3,
            max_upload_bytes=max_upload_bytes,
        )
        compute_url = stack.enter_context(serve_app(create_compute_app(compute_settings)))

        env = _service_env(data_dir, broker, auth_url)
        result = Stack(
            data_dir=data_dir,
            mode=mode,
            compute_url=compute_url,
            auth_url=auth_url,
            broker=broker,
            env=env,
            mqtt_credentials=credentials,
        )
        stack.callback(result.stop_workers)
        for _ in range(workers):
            result.start_worker(tasks)
        if workers:
            result.wait_for_workers(workers)
        yield result
