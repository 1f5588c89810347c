"""``cl-server up``: broker, auth, compute and workers on one machine, as one process tree."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import httpx

from cl_server.broker.credentials import ServiceCredentials, service_credentials
from cl_server.broker.probe import broker_reachable
from cl_server.settings import MqttSettings
from cl_server.up.children import Child, announce, child_env
from cl_server.up.models import pull_missing_models
from cl_server.worker.plugins_loader import parse_task_list

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
WORKER_RESTART_DELAY_S = 2.0
ADMIN_PASSWORD_FILE = "admin-password.txt"
"""``cl_server.auth.bootstrap.ADMIN_PASSWORD_FILE``, spelled out: importing that module would
load the auth database stack into this process (seconds) just for a file name."""


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path
    host: str
    auth_port: int
    compute_port: int
    mqtt_host: str
    mqtt_port: int
    workers: int
    no_auth: bool
    admin_password: str | None
    tasks: str = ""
    pull_models: bool = False


def _client_host(host: str) -> str:
    """Where local clients connect when services listen on ``host``."""
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _wait_ready(ready: Callable[[], bool], child: Child, deadline: float) -> bool:
    """Poll ``ready`` until it holds; False if ``child`` exits or the deadline passes first."""
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(0.1)
    return False


class Supervisor:
    def __init__(self, options: UpOptions, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.out = out
        self.services: list[Child] = []
        self.workers: list[Child] = []
        self._stop = threading.Event()
        local = _client_host(options.host)
        self.auth_url = f"http://{local}:{options.auth_port}"
        self.compute_url = f"http://{local}:{options.compute_port}"
        self.password_file = options.data_dir / ADMIN_PASSWORD_FILE
        #: The password file's state before auth started: a change means auth generated one.
        self._password_file_before: float | None = None
        self.mqtt_settings = MqttSettings(data_dir=options.data_dir)
        self.mqtt_account: ServiceCredentials | None = None
        overrides = {
            "CL_SERVER_DIR": str(options.data_dir),
            "CL_HOST": options.host,
            "CL_AUTH_PORT": str(options.auth_port),
            "CL_COMPUTE_PORT": str(options.compute_port),
            "CL_MQTT_HOST": options.mqtt_host,
            "CL_MQTT_PORT": str(options.mqtt_port),
            "CL_AUTH_URL": self.auth_url,
            "CL_NO_AUTH": "true" if options.no_auth else "false",
            "CL_TASKS": options.tasks,
        }
        if options.admin_password:
            overrides["CL_ADMIN_PASSWORD"] = options.admin_password
        self.env = child_env(overrides)

    def _spawn(self, name: str, args: list[str]) -> Child:
        child = Child(name, args, self.env, self.out)
        child.start()
        return child

    def request_stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self._stop.set()

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        self.options.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            if not self._start_services():
                return 1
            self._report_ready()
            return self._watch()
        finally:
            self._shutdown()

    def _start_services(self) -> bool:
        opts = self.options
        deadline = time.monotonic() + READY_TIMEOUT_S
        # Made here, before any child starts, so broker, compute and workers read one file.
        try:
            self.mqtt_account = service_credentials(self.mqtt_settings)
        except OSError as exc:
            announce(self.out, f"cannot create the MQTT service credentials: {exc}")
            return False
        mqtt_local = _client_host(opts.mqtt_host)
        if broker_reachable(mqtt_local, opts.mqtt_port):
            announce(self.out, f"using the MQTT broker already at {mqtt_local}:{opts.mqtt_port}")
        else:
            broker = self._spawn(
                "broker", ["broker", "--host", opts.mqtt_host, "--port", str(opts.mqtt_port)]
            )
            self.services.append(broker)
            if not _wait_ready(
                lambda: broker_reachable(mqtt_local, opts.mqtt_port), broker, deadline
            ):
                announce(
                    self.out, f"the embedded MQTT broker did not start on port {opts.mqtt_port}"
                )
                return False
        self._password_file_before = _mtime(self.password_file)
        auth = self._spawn("auth", ["auth"])
        compute = self._spawn("compute", ["compute"])
        self.services += [auth, compute]
        for child, url in ((auth, self.auth_url), (compute, self.compute_url)):
            if not _wait_ready(lambda u=url: _http_ok(f"{u}/"), child, deadline):
                announce(self.out, f"{child.name} did not come up at {url}; stopping")
                return False
        if opts.pull_models and opts.workers > 0:
            pull_missing_models(parse_task_list(opts.tasks), opts.data_dir, self.out)
        self.workers = [self._spawn_worker(i) for i in range(opts.workers)]
        return True

    def _spawn_worker(self, index: int) -> Child:
        name = f"worker-{index + 1}"
        return self._spawn(name, ["worker", "--worker-id", name])

    def _access_mode(self) -> str:
        """The effective access mode, as the compute service reports it on ``GET /``."""
        if self.options.no_auth:
            return "auth disabled (--no-auth): no login needed"
        try:
            info = httpx.get(f"{self.compute_url}/", timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            return "unknown (the compute service did not answer GET /)"
        if info.get("auth_required", True):
            return "enforced: requests need a token with ai_inference_support (or an admin's)"
        if info.get("guestMode") == "on":
            return "guest mode: no login needed until an admin turns it off"
        return "auth disabled: no login needed"

    def _admin_login(self) -> str:
        """Who can log in as admin, with the password itself only on the start that made it."""
        name = self.env.get("CL_ADMIN_USERNAME", "admin")
        if self.options.admin_password:
            return f"{name} / the password given with --admin-password (CL_ADMIN_PASSWORD)"
        now = _mtime(self.password_file)
        if now is None:
            return f"{name} (password set earlier; `cl-server user set-password {name}` resets it)"
        if now != self._password_file_before:
            password = self.password_file.read_text(encoding="utf-8").strip()
            return f"{name} / {password}  (generated; saved in {self.password_file})"
        return f"{name} / password in {self.password_file}"

    def _mqtt_account_line(self) -> str:
        settings = self.mqtt_settings
        name = self.mqtt_account.username if self.mqtt_account is not None else "?"
        source = settings.credentials_source
        return f"service account {name!r} only ({source}); readers connect anonymously"

    def _report_ready(self) -> None:
        opts = self.options
        announce(self.out, f"auth service    {self.auth_url}")
        announce(self.out, f"compute service {self.compute_url}")
        announce(self.out, f"access          {self._access_mode()}")
        announce(self.out, f"admin login     {self._admin_login()}")
        announce(self.out, f"MQTT broker     {_client_host(opts.mqtt_host)}:{opts.mqtt_port}")
        announce(self.out, f"MQTT publishing {self._mqtt_account_line()}")
        announce(self.out, f"data directory  {opts.data_dir}")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                caps = httpx.get(f"{self.compute_url}/capabilities", timeout=2.0).json()
            except (httpx.HTTPError, ValueError):
                caps = {}
            if caps.get("num_workers", 0) >= opts.workers:
                plugins = ", ".join(sorted(caps.get("capabilities", {}))) or "none"
                announce(
                    self.out, f"{caps['num_workers']} worker(s) ready; plugins available: {plugins}"
                )
                self._report_unavailable(caps.get("unavailable", {}))
                break
            self._stop.wait(0.25)
        announce(self.out, "press Ctrl-C to stop")

    def _report_unavailable(self, unavailable: dict[str, str]) -> None:
        if not unavailable:
            return
        announce(self.out, "plugins unavailable (each reason says how to enable it):")
        for task_type, reason in sorted(unavailable.items()):
            announce(self.out, f"  {task_type}: {reason}")
        if not self.options.pull_models:
            announce(self.out, "  or restart with `cl-server up --pull-models` to fetch them all")

    def _watch(self) -> int:
        while not self._stop.wait(0.5):
            for child in self.services:
                if child.poll() is not None:
                    announce(self.out, f"{child.name} exited with status {child.poll()}; stopping")
                    return 1
            for index, worker in enumerate(self.workers):
                if worker.poll() is not None and not self._stop.is_set():
                    announce(
                        self.out, f"{worker.name} exited with status {worker.poll()}; restarting"
                    )
                    self._stop.wait(WORKER_RESTART_DELAY_S)
                    self.workers[index] = self._spawn_worker(index)
        announce(self.out, "stopping")
        return 0

    def _shutdown(self) -> None:
        # Workers first (they finish or release their jobs), then services, broker last.
        for group in (self.workers, *([child] for child in reversed(self.services))):
            for child in group:
                child.terminate()
            for child in group:
                child.wait(STOP_TIMEOUT_S)
