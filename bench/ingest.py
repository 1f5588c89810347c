"""Library ingest: a folder of real photos through ``exif``, ``hash`` and ``media_thumbnail``.

The JPEGs under ``../shared/media/`` (portraits, a group photo, one-subject images), repeated
to ``--files`` paths, go through each plugin with the SDK's batch API
(``client.<plugin>.submit_batch``) against a real stack: broker, auth, compute and two workers,
each its own process (``bench/job_overhead.py``'s launcher, SQLite, embedded broker,
``--no-auth``). The baseline, measured in the same run, is a direct loop of the same plugin
runners over the same files in one process (no HTTP, no queue, no events).

Printed per plugin and in total: wall time of both sides and their ratio. The goal is the
service with 2 workers within 1.5x of the direct loop.

With ``--py-spy DIR`` each process of the stack and the SDK is sampled during the service
batches, ``DIR/<plugin>/<process>.txt`` (see ``bench/profiling.py``).

Run: ``uv run python bench/ingest.py [--files 1000] [--concurrency 8] [--rounds 3] [--py-spy DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.job_overhead import cpu_seconds, process_stack  # noqa: E402
from bench.profiling import start_py_spy, stop_py_spy  # noqa: E402
from cl_client.compute_client import ComputeClient  # noqa: E402
from cl_server.plugins.base import JobContext  # noqa: E402
from cl_server.plugins.registry import get_spec  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"
PLUGINS = ("exif", "hash", "media_thumbnail")


def library(count: int) -> list[Path]:
    """``count`` paths cycling through every JPEG of the shared media folder."""
    photos = sorted(MEDIA.rglob("*.jpg"))
    if not photos:
        raise SystemExit(f"no JPEGs under {MEDIA}: this benchmark needs ../shared/media")
    return [photos[i % len(photos)] for i in range(count)]


def direct_loop(task_type: str, paths: list[Path], work: Path) -> float:
    """Seconds for the plugin's own runner over every path, one after another, one process.

    Each file is given a job directory with its input in place, as a worker has it, outside
    the timed part (the service's side pays for its upload).
    """
    spec = get_spec(task_type)
    assert spec is not None
    runner = spec.load(None)
    defaults = spec.params_model()
    params = dict(spec.stored_params(defaults))
    contexts: list[JobContext] = []
    for i, path in enumerate(paths):
        job_dir = work / f"{task_type}-{i}"
        (job_dir / "input").mkdir(parents=True)
        target = job_dir / "input" / path.name
        shutil.copyfile(path, target)
        job_params = {
            **params,
            "input_path": f"input/{path.name}",
            "output_path": spec.output_path(defaults, path.name),
        }
        contexts.append(
            JobContext(job_id=f"d{i}", job_dir=job_dir, input_path=target, params=job_params)
        )
    start = time.perf_counter()
    for context in contexts:
        runner.run(context)
    elapsed = time.perf_counter() - start
    shutil.rmtree(work, ignore_errors=True)
    return elapsed


async def service_batch(
    compute_url: str,
    mqtt_host: str,
    mqtt_port: int,
    task_type: str,
    paths: list[Path],
    concurrency: int,
) -> float:
    """Seconds for ``submit_batch`` of every path through the running service."""
    async with ComputeClient(
        base_url=compute_url, mqtt_broker=mqtt_host, mqtt_port=mqtt_port
    ) as client:
        plugin = getattr(client, task_type)
        start = time.perf_counter()
        items = await plugin.submit_batch(paths, concurrency=concurrency, timeout=600)
        elapsed = time.perf_counter() - start
    failed = [item for item in items if not item.ok]
    if failed:
        raise RuntimeError(f"{task_type}: {len(failed)} of {len(items)} jobs did not complete")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="paths per plugin")
    parser.add_argument("--concurrency", type=int, default=8, help="submit_batch concurrency")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (medians)")
    parser.add_argument("--py-spy", type=Path, default=None, help="write profiles to this dir")
    parser.add_argument("--py-spy-bin", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument(
        "--py-spy-gil", action="store_true", help="profile only samples holding the GIL"
    )
    args = parser.parse_args()
    paths = library(args.files)
    service: dict[str, list[float]] = {task: [] for task in PLUGINS}
    direct: dict[str, list[float]] = {task: [] for task in PLUGINS}

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with process_stack(work / "stack", workers=2, tasks=PLUGINS) as stack:
            processes = stack.os_processes()
            processes["SDK"] = psutil.Process()
            for round_index in range(args.rounds):
                for task in PLUGINS:
                    direct[task].append(direct_loop(task, paths, work / f"direct-{round_index}"))
                    cpu_before = {name: cpu_seconds(p) for name, p in processes.items()}
                    profile_dir = None if args.py_spy is None else args.py_spy / task
                    spies = (
                        {}
                        if profile_dir is None
                        else start_py_spy(
                            args.py_spy_bin, processes, profile_dir, gil_only=args.py_spy_gil
                        )
                    )
                    service[task].append(
                        asyncio.run(
                            service_batch(
                                stack.compute_url,
                                stack.mqtt_host,
                                stack.mqtt_port,
                                task,
                                paths,
                                args.concurrency,
                            )
                        )
                    )
                    if profile_dir is not None:
                        stop_py_spy(spies, profile_dir)
                    cpu = {
                        name: (cpu_seconds(p) - cpu_before[name]) / args.files * 1000
                        for name, p in processes.items()
                    }
                    print(
                        f"round {round_index + 1} {task}: service {service[task][-1]:.2f} s, "
                        f"direct {direct[task][-1]:.2f} s (load {os.getloadavg()[0]:.2f}); "
                        "CPU ms per file: "
                        + ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items()),
                        flush=True,
                    )

    photos = len(set(paths))
    print()
    print(
        f"{args.files} files ({photos} distinct JPEGs from ../shared/media), medians of "
        f"{args.rounds} rounds; service: 2 workers, submit_batch concurrency {args.concurrency}; "
        "direct: the plugin runner in a loop, one process"
    )
    print(f"{'plugin':16s} {'service s':>10s} {'direct s':>10s} {'ratio':>7s} {'files/s':>8s}")
    total_service = total_direct = 0.0
    for task in PLUGINS:
        s, d = statistics.median(service[task]), statistics.median(direct[task])
        total_service += s
        total_direct += d
        print(f"{task:16s} {s:10.2f} {d:10.2f} {s / d:6.2f}x {args.files / s:8.1f}")
    print(
        f"{'all three':16s} {total_service:10.2f} {total_direct:10.2f} "
        f"{total_service / total_direct:6.2f}x   (goal: within 1.50x)"
    )


if __name__ == "__main__":
    main()
