"""A real Mosquitto broker on a free port, when the ``mosquitto`` binary is installed."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from cl_server.broker import broker_reachable
from cl_server.broker.credentials import ServiceCredentials
from cl_server.broker.mosquitto import write_mosquitto_config
from tests.support.cli_stack import free_port

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def current_user() -> str:
    """This process's account: Mosquitto started as root would otherwise switch to the
    ``mosquitto`` user, which cannot read a test's password and ACL files."""
    return pwd.getpwuid(os.geteuid()).pw_name


class MosquittoBroker:
    """Same surface as ``EmbeddedBroker`` (host, port, start, stop) for parametrised stacks.

    With ``credentials`` it runs the setup ``cl-server broker mosquitto-config`` writes (only
    that account publishes; anonymous clients read the CL Server topics); without, an open
    broker where anyone may publish.
    """

    def __init__(
        self,
        workdir: Path,
        host: str = "127.0.0.1",
        *,
        credentials: ServiceCredentials | None = None,
    ) -> None:
        if MOSQUITTO is None:
            raise RuntimeError("mosquitto is not installed")
        self.host = host
        self.port = free_port()
        self.credentials = credentials
        if credentials is not None:
            files = write_mosquitto_config(
                workdir / "mosquitto",
                credentials,
                bind=host,
                port=self.port,
                run_as=current_user(),
            )
            self._config = files.config
        else:
            self._config = workdir / "mosquitto.conf"
            self._config.write_text(
                f"listener {self.port} {host}\n"
                "allow_anonymous true\npersistence false\n"
                # Without it Mosquitto delays each small event by the subscriber's delayed ACK.
                "set_tcp_nodelay true\n"
            )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self._config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not broker_reachable(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None
