"""``cl-server up`` as a real subprocess on free ports, for acceptance tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cl_server.broker.embedded import pick_free_port

READY_LINE = "press Ctrl-C to stop"
ADMIN_PASSWORD = "acceptance-admin-pw"


def free_port() -> int:
    return pick_free_port("127.0.0.1")


@dataclass
class UpStack:
    process: subprocess.Popen[str]
    data_dir: Path
    compute_url: str
    auth_url: str
    mqtt_port: int
    admin_password: str
    lines: list[str] = field(default_factory=list[str])

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def cl_server_up(
    tmp_path: Path,
    extra_args: Sequence[str] = (),
    *,
    workers: int = 1,
    tasks: str = "",
    startup_timeout: float = 120.0,
    admin_password: str | None = ADMIN_PASSWORD,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[UpStack]:
    """Run ``cl-server up`` until it prints that it is ready; stop it with SIGINT on exit.

    ``admin_password=None`` lets the auth service generate one (``stack.admin_password`` is then
    empty; read ``<data_dir>/admin-password.txt``).
    """
    data_dir = tmp_path / "up-data"
    auth_port, compute_port, mqtt_port = free_port(), free_port(), free_port()
    args = [
        sys.executable, "-m", "cl_server.cli", "up",
        "--data-dir", str(data_dir),
        "--auth-port", str(auth_port),
        "--compute-port", str(compute_port),
        "--mqtt-port", str(mqtt_port),
        "--workers", str(workers),
        *(["--admin-password", admin_password] if admin_password else []),
        *(["--tasks", tasks] if tasks else []),
        *extra_args,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stack = UpStack(
        process=process,
        data_dir=data_dir,
        compute_url=f"http://127.0.0.1:{compute_port}",
        auth_url=f"http://127.0.0.1:{auth_port}",
        mqtt_port=mqtt_port,
        admin_password=admin_password or "",
    )
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.lines.append(line)
            if READY_LINE in line:
                ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not ready.wait(0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cl-server up did not become ready:\n{stack.output}")
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
