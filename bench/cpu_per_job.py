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
import os
import shutil
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
from bench.profiling import start_py_spy, stop_py_spy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400, help="jobs in the measured burst")
    parser.add_argument("--broker", choices=["embedded", "mosquitto"], default="embedded")
    parser.add_argument("--py-spy", type=Path, default=None, help="write profiles to this dir")
    parser.add_argument("--py-spy-bin", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument(
        "--py-spy-gil", action="store_true", help="profile only samples holding the GIL"
    )
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
                {}
                if args.py_spy is None
                else start_py_spy(args.py_spy_bin, profiled, args.py_spy, gil_only=args.py_spy_gil)
            )
            before = {name: cpu_seconds(p) for name, p in processes.items()}
            jobs_per_s = throughput_run(stack.compute_url, events, image, args.jobs)
            after = {name: cpu_seconds(p) for name, p in processes.items()}
            if args.py_spy is not None:
                stop_py_spy(spies, args.py_spy)

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
