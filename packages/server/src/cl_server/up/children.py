"""Child processes of ``cl-server up``, with their output prefixed by service name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, TextIO

_print_lock = threading.Lock()


class Child:
    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], out: TextIO) -> None:
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.out = out
        self.process: subprocess.Popen[str] | None = None
        self.expected_exit = False
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cl_server.cli", *self.args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            # Own session: Ctrl-C reaches only `up`, which then stops children in order.
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self._pump = threading.Thread(
            target=self._copy_lines, args=(self.process.stdout,), daemon=True
        )
        self._pump.start()

    def _copy_lines(self, stream: IO[str]) -> None:
        for line in stream:
            with _print_lock:
                self.out.write(f"{self.name:>9} | {line}")
                self.out.flush()

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        self.expected_exit = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.out.write(f"{self.name:>9} | did not stop in {timeout:.0f} s; killing\n")
            self.process.kill()
            self.process.wait()
        if self._pump is not None:
            self._pump.join(timeout=2)


def announce(out: TextIO, message: str) -> None:
    with _print_lock:
        out.write(f"{'up':>9} | {message}\n")
        out.flush()


def child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    return env
