"""py-spy recorders on the processes of a running stack, and a top-frames summary of each.

``py-spy`` is a profiling tool, not a project dependency: it must be on PATH or given with
``--py-spy-bin``. Each process gets ``DIR/<process>.raw`` (collapsed stacks) and
``DIR/<process>.txt`` (top frames by self and by inclusive samples).
"""

from __future__ import annotations

import collections
import signal
import subprocess
from pathlib import Path

import psutil

TOP_FRAMES = 25


def _summarise(raw: Path) -> str:
    """Top frames by self and by inclusive samples, from py-spy's collapsed ("raw") output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        return "no samples\n"
    lines = [f"{total} samples", "", "self:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(TOP_FRAMES)]
    lines += ["", "inclusive:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(TOP_FRAMES)]
    return "\n".join(lines) + "\n"


def start_py_spy(
    py_spy: str, processes: dict[str, psutil.Process], out_dir: Path, *, gil_only: bool = False
) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    """One ``py-spy record`` per process, writing collapsed stacks to ``out_dir/<name>.raw``.

    ``gil_only``: keep only samples of threads holding the GIL, so the profile shows where
    Python spends CPU rather than where threads wait (py-spy counts a thread blocked in a
    lock or a system call as busy)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, process in processes.items():
        out = out_dir / f"{name}.raw"
        command = [py_spy, "record", "--pid", str(process.pid), "--rate", "200"]
        command += ["--format", "raw", "--nonblocking", "-o", str(out)]
        if gil_only:
            command.append("--gil")
        spies[name] = (
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            out,
        )
    return spies


def stop_py_spy(spies: dict[str, tuple[subprocess.Popen[bytes], Path]], out_dir: Path) -> None:
    """Stop every recorder (SIGINT: py-spy writes its output) and summarise each profile."""
    for spy, _ in spies.values():
        spy.send_signal(signal.SIGINT)
    for name, (spy, out) in spies.items():
        spy.wait(60)
        if out.exists():
            (out_dir / f"{name}.txt").write_text(_summarise(out))
