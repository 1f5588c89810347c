"""Where ffmpeg is, and running it as a killable, time-bounded child process with progress.

The default ffmpeg is the static binary shipped by the ``imageio-ffmpeg`` wheel, so a fresh machine
needs no system package. ``CL_FFMPEG_PATH`` names another ffmpeg (for example a distribution build
with hardware encoders). The variable is read at call time, not at import.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from cl_server.errors import JobCancelledError, PluginError, PluginUnavailableError

FFMPEG_PATH_ENV = "CL_FFMPEG_PATH"

# How often the supervising loop looks at the cancel flag and the deadline.
_POLL_S = 0.2
# Only the tail of ffmpeg's stderr is useful in an error message.
_STDERR_TAIL_BYTES = 8192


def ffmpeg_exe() -> str:
    """Absolute path of the ffmpeg to run: ``CL_FFMPEG_PATH`` if set, else imageio-ffmpeg's."""
    configured = os.environ.get(FFMPEG_PATH_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise PluginUnavailableError(
                f"{FFMPEG_PATH_ENV}={configured!r} is not an executable ffmpeg; "
                "fix the path or unset it to use the bundled ffmpeg"
            )
        return found
    try:
        import imageio_ffmpeg  # lazy: only media workers need it

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise PluginUnavailableError(
            f"no ffmpeg available ({exc}); install imageio-ffmpeg or set {FFMPEG_PATH_ENV}"
        ) from exc


@functools.cache
def orphan_guard() -> tuple[str, ...]:
    """A command prefix that kills ffmpeg when the process that started it dies.

    ``run_ffmpeg`` kills ffmpeg on every way out it sees, but a worker killed by SIGKILL or the
    OOM killer sees none, and ffmpeg ignores the broken progress pipe and encodes on into a job
    directory that another worker may already be filling. On Linux, util-linux's ``setpriv``
    sets the parent-death signal (PR_SET_PDEATHSIG) and then execs ffmpeg. Elsewhere, or where
    ``setpriv`` is missing, there is no guard.
    """
    if not sys.platform.startswith("linux"):
        return ()
    setpriv = shutil.which("setpriv")
    return (setpriv, "--pdeathsig", "KILL", "--") if setpriv else ()


def parse_progress_seconds(line: str) -> float | None:
    """Media time reached, from one ``-progress`` line (``out_time_us=...``), else ``None``.

    ``out_time_ms`` is microseconds too (a long-standing ffmpeg misnomer); ``N/A`` is ignored.
    """
    key, sep, value = line.strip().partition("=")
    if not sep or key not in ("out_time_us", "out_time_ms"):
        return None
    try:
        micros = int(value)
    except ValueError:
        return None
    return micros / 1_000_000 if micros >= 0 else None


def stderr_summary(stderr: str, limit: int = 300) -> str:
    """The last meaningful lines of ffmpeg's stderr, short enough for an ``error_message``."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    text = " | ".join(lines[-3:])
    return text if len(text) <= limit else "..." + text[-limit:]


def run_ffmpeg(
    args: Sequence[str],
    *,
    cancelled: threading.Event,
    timeout_s: float,
    on_progress: Callable[[float], None] | None = None,
    what: str = "ffmpeg",
) -> None:
    """Run ffmpeg with ``args`` (without the executable) until it exits.

    ffmpeg runs in its own process group, which is killed when ``cancelled`` is set (raises
    ``JobCancelledError``), when ``timeout_s`` passes or ffmpeg fails (``PluginError`` carrying
    the end of its stderr), and on any exception in this thread (a stopping worker), so no encoder
    outlives its job. ``on_progress`` receives the media time reached, in seconds, on the calling
    thread; ``args`` should include ``-progress pipe:1`` for it to be called.
    """
    exe = ffmpeg_exe()
    command = [*orphan_guard(), exe, "-hide_banner", "-nostdin", *args]
    with tempfile.TemporaryFile() as stderr_file:
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                start_new_session=True,  # own process group: killpg reaches every child
            )
        except OSError as exc:
            raise PluginUnavailableError(f"cannot start ffmpeg ({exe}): {exc}") from exc
        progress = _ProgressReader(proc.stdout)
        reported: float | None = None
        try:
            reported = _supervise(
                proc, progress, on_progress, cancelled=cancelled, timeout_s=timeout_s, what=what
            )
        finally:
            if proc.poll() is None:
                _kill_group(proc)
            progress.join()
        if proc.returncode != 0:
            raise PluginError(
                f"{what} failed (ffmpeg exit {proc.returncode}): "
                f"{stderr_summary(_read_tail(stderr_file)) or 'no error output'}"
            )
        if on_progress is not None and progress.latest is not None and progress.latest != reported:
            on_progress(progress.latest)  # the final position, also for runs shorter than a poll


class _ProgressReader:
    """Reads ``-progress`` lines on a thread (a pipe must be drained) and keeps the latest time."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self.latest: float | None = None
        self._stream = stream
        self._thread = threading.Thread(target=self._read, name="ffmpeg-progress", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        if self._stream is None:
            return
        with self._stream:
            for raw in self._stream:
                seconds = parse_progress_seconds(raw.decode("utf-8", "replace"))
                if seconds is not None:
                    self.latest = seconds  # a float store is atomic; the reader polls it

    def join(self) -> None:
        self._thread.join(timeout=5)


def _supervise(
    proc: subprocess.Popen[bytes],
    progress: _ProgressReader,
    on_progress: Callable[[float], None] | None,
    *,
    cancelled: threading.Event,
    timeout_s: float,
    what: str,
) -> float | None:
    """Wait for ffmpeg, forwarding progress; returns the last media time forwarded."""
    deadline = time.monotonic() + timeout_s
    reported: float | None = None
    while True:
        try:
            proc.wait(timeout=_POLL_S)
            return reported
        except subprocess.TimeoutExpired:
            pass
        if cancelled.is_set():
            _kill_group(proc)
            raise JobCancelledError(f"{what} stopped: the job was cancelled")
        if time.monotonic() > deadline:
            _kill_group(proc)
            raise PluginError(f"{what} took longer than {timeout_s:.0f} s and was stopped")
        latest = progress.latest
        if on_progress is not None and latest is not None and latest != reported:
            reported = latest
            on_progress(latest)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_tail(file: IO[bytes]) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - _STDERR_TAIL_BYTES))
    return file.read().decode("utf-8", "replace")


def ffmpeg_version(exe: str | Path | None = None) -> str:
    """First line of ``ffmpeg -version`` (for logs and benchmarks)."""
    out = subprocess.run(
        [str(exe or ffmpeg_exe()), "-version"], capture_output=True, text=True, check=False
    )
    return out.stdout.splitlines()[0] if out.stdout else "unknown"
