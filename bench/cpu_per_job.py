"""CPU per job in each process of a real stack, and (optionally) a py-spy profile of each.

Starts broker, auth, compute and two workers as separate processes (``job_overhead``'s
launcher), runs a warm-up burst, then a measured burst of small ``hash`` jobs, and prints how
many milliseconds of CPU each process spent per job (psutil, user + system). With ``--py-spy
DIR`` every process is sampled during the measured burst and ``DIR/<process>.txt`` gets its
collapsed stacks plus a top-frames summary (``py-spy`` must be on PATH or given with
``--py-spy-bin``; it is a profiling tool, not a project dependency).

Run: ``uv run python bench/cpu_per_job.py [--jobs 400] [--broker mosquitto] [--py-spy /tmp/prof]``
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.job_overhead import (  # noqa: E402
    BrokerKind,
    cpu_seconds,
    make_bench_jpeg,
    measured_stack,
    throughput_run,
)

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


def _start_py_spy(
    py_spy: str, processes: dict[str, psutil.Process], out_dir: Path
) -> dict[str, tuple[subprocess.Popen[bytes], Path]]:
    """One ``py-spy record`` per process, writing collapsed stacks to ``out_dir/<name>.raw``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, process in processes.items():
        out = out_dir / f"{name}.raw"
        command = [py_spy, "record", "--pid", str(process.pid), "--rate", "200"]
        command += ["--format", "raw", "--nonblocking", "-o", str(out)]
        spies[name] = (
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            out,
        )
    return spies


def _stop_py_spy(spies: dict[str, tuple[subprocess.Popen[bytes], Path]], out_dir: Path) -> None:
    """Stop every recorder (SIGINT: py-spy writes its output) and summarise each profile."""
    for spy, _ in spies.values():
        spy.send_signal(signal.SIGINT)
    for name, (spy, out) in spies.items():
        spy.wait(60)
        if out.exists():
            (out_dir / f"{name}.txt").write_text(_summarise(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400, help="jobs in the measured burst")
    parser.add_argument("--broker", choices=["embedded", "mosquitto"], default="embedded")
    parser.add_argument("--py-spy", type=Path, default=None, help="write profiles to this dir")
    parser.add_argument("--py-spy-bin", default=shutil.which("py-spy") or "py-spy")
    args = parser.parse_args()
    broker_kind: BrokerKind = args.broker

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = make_bench_jpeg(work / "small.jpg")
        with measured_stack(work / "stack", 2, broker_kind, "sqlite") as (stack, events):
            throughput_run(stack.compute_url, events, image, 40)
            processes = stack.os_processes()
            # Mosquitto is not a Python process; the load generator is this one.
            profiled = {
                n: p for n, p in processes.items() if broker_kind == "embedded" or n != "broker"
            }
            processes["load generator"] = psutil.Process(os.getpid())
            spies = (
                {} if args.py_spy is None else _start_py_spy(args.py_spy_bin, profiled, args.py_spy)
            )
            before = {name: cpu_seconds(p) for name, p in processes.items()}
            jobs_per_s = throughput_run(stack.compute_url, events, image, args.jobs)
            after = {name: cpu_seconds(p) for name, p in processes.items()}
            if args.py_spy is not None:
                _stop_py_spy(spies, args.py_spy)

    print(f"broker: {broker_kind}; {args.jobs} hash jobs, 2 workers: {jobs_per_s:.1f} jobs/s")
    total = 0.0
    for name in processes:
        per_job_ms = (after[name] - before[name]) / args.jobs * 1000
        total += per_job_ms
        print(f"  {name:16s} {per_job_ms:6.2f} ms CPU per job")
    print(f"  {'all':16s} {total:6.2f} ms CPU per job; load average {os.getloadavg()[0]:.2f}")
    if args.py_spy is not None:
        print(f"profiles: {args.py_spy}/<process>.txt")


if __name__ == "__main__":
    main()
