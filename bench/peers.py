"""Side by side: this project against Dramatiq, arq, Celery and RQ, same workload, same machine.

The workload is the same for every system: decode a 320x240 JPEG with Pillow and SHA-512 its
pixels. The load generator (this process) submits and waits for completion through each system's
normal mechanism; the workers are separate processes started and stopped here:

- latency: 1 worker process, ``--samples`` sequential submit -> completed (p50, p99);
- throughput: 2 worker processes, ``--jobs`` submitted at once, then wait for all (jobs/s).

Systems are interleaved (each round runs every system, in an order rotated per round) and the
table shows medians over ``--rounds`` rounds, with the machine's load average after each run.

This project: the ``hash`` plugin through the real HTTP API (``POST /jobs/hash`` with the JPEG),
completion seen as the terminal event on MQTT ``inference/events``; broker, auth, compute and each
worker their own process (``bench/job_overhead.py``'s ``process_stack``), embedded broker,
SQLite, ``--no-auth``. The peers get the JPEG's path (no upload, no file store) and use Redis at
``CL_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/7``; the database is flushed before and
after every run). A peer whose library is not importable, or every peer when Redis does not
answer, is skipped with a message.

Setup and run (the ``peers`` group lives in its own environment, away from the test suite's)::

    UV_PROJECT_ENVIRONMENT=/tmp/peers-venv .tools/bin/uv sync --frozen --group peers
    /tmp/peers-venv/bin/python bench/peers.py [--rounds 2] [--samples 200] [--jobs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import job_overhead  # noqa: E402

REDIS_URL = os.environ.get("CL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ["CL_BENCH_REDIS_URL"] = REDIS_URL  # peer_tasks reads it, here and in the workers
THIS_PROJECT = "**this project** (embedded broker, SQLite)"
READY_TIMEOUT_S = 90.0
RESULT_TIMEOUT_S = 120


# --------------------------------------------------------------------------- peers


def _script(name: str) -> str:
    """A console script of the environment this bench runs in."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


class Peer:
    """One peer job queue: how to start its workers, submit a job and wait for results."""

    name = ""
    module = ""

    def skip_reason(self) -> str | None:
        try:
            __import__(self.module)
        except ImportError as exc:
            return f"{self.module} is not importable ({exc})"
        return None

    def worker_commands(self, workers: int) -> list[list[str]]:
        raise NotImplementedError

    def run_one(self, path: str) -> None:
        """Submit one job and block until it has completed."""
        raise NotImplementedError

    def run_many(self, path: str, jobs: int) -> None:
        """Submit ``jobs`` at once and block until all have completed."""
        raise NotImplementedError

    def ping_pids(self, count: int) -> set[int]:
        """Run ``count`` ping jobs at once; the worker pids that answered."""
        raise NotImplementedError

    def close(self) -> None:
        """Drop client connections (the database is flushed next)."""


class DramatiqPeer(Peer):
    name = "Dramatiq (Redis)"
    module = "dramatiq"

    def worker_commands(self, workers: int) -> list[list[str]]:
        return [[_script("dramatiq"), "peer_tasks", "--processes", str(workers), "--threads", "1"]]

    def run_one(self, path: str) -> None:
        import peer_tasks

        message = peer_tasks.dramatiq_hash.send(path)
        message.get_result(block=True, timeout=RESULT_TIMEOUT_S * 1000)

    def run_many(self, path: str, jobs: int) -> None:
        import peer_tasks

        messages = [peer_tasks.dramatiq_hash.send(path) for _ in range(jobs)]
        for message in messages:
            message.get_result(block=True, timeout=RESULT_TIMEOUT_S * 1000)

    def ping_pids(self, count: int) -> set[int]:
        import peer_tasks

        messages = [peer_tasks.dramatiq_ping.send() for _ in range(count)]
        return {m.get_result(block=True, timeout=RESULT_TIMEOUT_S * 1000) for m in messages}


class CeleryPeer(Peer):
    name = "Celery (Redis, prefork)"
    module = "celery"

    def worker_commands(self, workers: int) -> list[list[str]]:
        return [
            [
                _script("celery"), "-A", "peer_tasks", "worker",
                "--pool", "prefork", "--concurrency", str(workers),
                "--loglevel", "WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]
        ]  # fmt: skip

    def run_one(self, path: str) -> None:
        import peer_tasks

        peer_tasks.celery_hash.delay(path).get(timeout=RESULT_TIMEOUT_S)

    def run_many(self, path: str, jobs: int) -> None:
        import peer_tasks

        results = [peer_tasks.celery_hash.delay(path) for _ in range(jobs)]
        for result in results:
            result.get(timeout=RESULT_TIMEOUT_S)

    def ping_pids(self, count: int) -> set[int]:
        import peer_tasks

        results = [peer_tasks.celery_ping.delay() for _ in range(count)]
        return {r.get(timeout=RESULT_TIMEOUT_S) for r in results}


class ArqPeer(Peer):
    name = "arq (Redis, 5 ms polls)"
    module = "arq"

    def __init__(self) -> None:
        self._runner: asyncio.Runner | None = None
        self._pool: Any = None

    def _run(self, make: Callable[[Any], Any]) -> Any:
        from arq import create_pool
        from arq.connections import RedisSettings

        if self._runner is None:
            self._runner = asyncio.Runner()
        if self._pool is None:
            self._pool = self._runner.run(create_pool(RedisSettings.from_dsn(REDIS_URL)))
        return self._runner.run(make(self._pool))

    def worker_commands(self, workers: int) -> list[list[str]]:
        return [[_script("arq"), "peer_tasks.ArqWorkerSettings"] for _ in range(workers)]

    @staticmethod
    async def _results(pool: Any, function: str, count: int, *args: Any) -> list[Any]:
        import peer_tasks

        jobs = [await pool.enqueue_job(function, *args) for _ in range(count)]
        return [
            await job.result(timeout=RESULT_TIMEOUT_S, poll_delay=peer_tasks.ARQ_POLL_DELAY_S)
            for job in jobs
        ]

    def run_one(self, path: str) -> None:
        self._run(lambda pool: self._results(pool, "arq_hash", 1, path))

    def run_many(self, path: str, jobs: int) -> None:
        self._run(lambda pool: self._results(pool, "arq_hash", jobs, path))

    def ping_pids(self, count: int) -> set[int]:
        return set(self._run(lambda pool: self._results(pool, "arq_ping", count)))

    def close(self) -> None:
        if self._runner is not None:
            if self._pool is not None:
                self._runner.run(self._pool.aclose())
            self._runner.close()
        self._runner, self._pool = None, None


class RqPeer(Peer):
    name = "RQ (Redis, fork per job)"
    module = "rq"
    worker_class = "peer_tasks.RqWorker"
    forked = True

    def __init__(self) -> None:
        self._queue: Any = None

    @property
    def queue(self) -> Any:
        if self._queue is None:
            from redis import Redis
            from rq import Queue

            self._queue = Queue("bench", connection=Redis.from_url(REDIS_URL))
        return self._queue

    def worker_commands(self, workers: int) -> list[list[str]]:
        command = [
            _script("rq"), "worker", "--url", REDIS_URL, "--path", str(BENCH),
            "--worker-class", self.worker_class, "bench",
        ]  # fmt: skip
        return [[*command, "--name", f"bench-rq-{i}-{os.getpid()}"] for i in range(workers)]

    def _wait_all(self, jobs: list[Any]) -> list[Any]:
        values = []
        for job in jobs:
            result = job.latest_result(timeout=RESULT_TIMEOUT_S)
            if result is None or result.type != result.Type.SUCCESSFUL:
                raise RuntimeError(f"rq job {job.id} did not succeed: {result}")
            values.append(result.return_value)
        return values

    def run_one(self, path: str) -> None:
        import peer_tasks

        self._wait_all([self.queue.enqueue(peer_tasks.rq_hash, path)])

    def run_many(self, path: str, jobs: int) -> None:
        import peer_tasks

        self._wait_all([self.queue.enqueue(peer_tasks.rq_hash, path) for _ in range(jobs)])

    def ping_pids(self, count: int) -> set[int]:
        import peer_tasks

        # Each job runs in a forked work horse; its parent is the worker process.
        return set(
            self._wait_all(
                [self.queue.enqueue(peer_tasks.rq_ping, self.forked) for _ in range(count)]
            )
        )

    def close(self) -> None:
        if self._queue is not None:
            self._queue.connection.close()
        self._queue = None


class RqSimplePeer(RqPeer):
    name = "RQ (Redis, SimpleWorker)"
    worker_class = "rq.SimpleWorker"
    forked = False


def flush_redis() -> None:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def redis_skip_reason() -> str | None:
    try:
        from redis import Redis
    except ImportError:
        return "the redis client is not importable (install the `peers` dependency group)"
    try:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        return f"Redis at {REDIS_URL} does not answer ({exc})"
    return None


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextmanager
def peer_workers(peer: Peer, workers: int, logs: Path) -> Iterator[None]:
    """``workers`` worker processes of ``peer`` on a flushed database, consuming when entered."""
    flush_redis()
    env = {
        **os.environ,
        "PYTHONPATH": str(BENCH),
        "PYTHONUNBUFFERED": "1",
        "CL_BENCH_PEER": peer.module,
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for i, command in enumerate(peer.worker_commands(workers)):
            with (logs / f"{type(peer).__name__}-{workers}-{i}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=BENCH,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + READY_TIMEOUT_S
        seen: set[int] = set()
        while len(seen) < workers:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{peer.name} worker exited: {process.args}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{peer.name}: only {len(seen)} of {workers} workers answered")
            seen |= peer.ping_pids(4 * workers)
        yield
    finally:
        _stop_all(processes)
        peer.close()
        flush_redis()


# --------------------------------------------------------------------------- runs


@dataclass
class Results:
    p50_ms: list[float] = field(default_factory=list[float])
    p99_ms: list[float] = field(default_factory=list[float])
    jobs_per_s: list[float] = field(default_factory=list[float])
    load: list[str] = field(default_factory=list[str])


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def peer_latency(peer: Peer, path: str, samples: int, logs: Path) -> list[float]:
    with peer_workers(peer, 1, logs):
        for _ in range(5):
            peer.run_one(path)
        latencies = []
        for _ in range(samples):
            start = time.perf_counter()
            peer.run_one(path)
            latencies.append(time.perf_counter() - start)
        return latencies


def peer_throughput(peer: Peer, path: str, jobs: int, logs: Path) -> float:
    with peer_workers(peer, 2, logs):
        peer.run_many(path, 10)
        start = time.perf_counter()
        peer.run_many(path, jobs)
        return jobs / (time.perf_counter() - start)


def record_latency(results: Results, latencies: list[float]) -> None:
    results.p50_ms.append(job_overhead.percentile(latencies, 0.5) * 1000)
    results.p99_ms.append(job_overhead.percentile(latencies, 0.99) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (medians)")
    parser.add_argument("--samples", type=int, default=200, help="sequential jobs for latency")
    parser.add_argument("--jobs", type=int, default=300, help="jobs per throughput run")
    parser.add_argument(
        "--only", default="", help="comma-separated subset: project,dramatiq,arq,celery,rq,rqsimple"
    )
    args = parser.parse_args()
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}

    peers: list[Peer] = []
    redis_reason = redis_skip_reason()
    candidates: list[Peer] = [
        DramatiqPeer(),
        ArqPeer(),
        CeleryPeer(),
        RqPeer(),
        RqSimplePeer(),
    ]
    for peer in candidates:
        key = type(peer).__name__.removesuffix("Peer").lower()
        if only and key not in only:
            continue
        reason = redis_reason or peer.skip_reason()
        if reason:
            print(f"skipping {peer.name}: {reason}", flush=True)
        else:
            peers.append(peer)
    systems: list[Peer | None] = [None, *peers] if not only or "project" in only else [*peers]
    if not systems:
        print("nothing to run")
        return
    results = {THIS_PROJECT if s is None else s.name: Results() for s in systems}

    print(
        f"{os.cpu_count()} CPUs; load average before: {_load()}; {args.rounds} rounds, "
        f"{args.samples} latency samples, {args.jobs} jobs per throughput run",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = job_overhead.make_bench_jpeg(work / "small.jpg")
        for round_index in range(args.rounds):
            shift = round_index % len(systems)
            for system in systems[shift:] + systems[:shift]:
                name = THIS_PROJECT if system is None else system.name
                run_dir = work / f"r{round_index}-{type(system).__name__}"
                run_dir.mkdir()
                result = results[name]
                if system is None:
                    latencies = job_overhead.measure_latency(run_dir / "one", image, args.samples)
                else:
                    latencies = peer_latency(system, str(image), args.samples, run_dir)
                record_latency(result, latencies)
                load_latency = _load()
                if system is None:
                    rate = job_overhead.measure_throughput(run_dir / "two", image, args.jobs)
                else:
                    rate = peer_throughput(system, str(image), args.jobs, run_dir)
                load_throughput = _load()
                result.jobs_per_s.append(rate)
                result.load.append(f"{load_latency} | {load_throughput}")
                print(
                    f"round {round_index + 1}: {name}: p50 {result.p50_ms[-1]:.1f} ms, "
                    f"p99 {result.p99_ms[-1]:.1f} ms, {rate:.1f} jobs/s "
                    f"(load after latency run {load_latency}, "
                    f"after throughput run {load_throughput})",
                    flush=True,
                )
    print_table(results, args)


def print_table(results: dict[str, Results], args: argparse.Namespace) -> None:
    median = statistics.median
    peer_names = [name for name in results if name != THIS_PROJECT]
    best_p50 = min((median(results[n].p50_ms) for n in peer_names), default=None)
    best_rate = max((median(results[n].jobs_per_s) for n in peer_names), default=None)
    print()
    print(
        f"Medians of {args.rounds} rounds; {args.samples} sequential jobs (latency), "
        f"{args.jobs} jobs at once (throughput)."
    )
    print()
    print(
        "| System | latency p50 / p99, 1 worker (ms) | throughput, 2 workers (jobs/s) "
        "| ratio vs best peer (p50 / throughput) |"
    )
    print("|---|---|---|---|")
    for name, result in results.items():
        p50, p99, rate = median(result.p50_ms), median(result.p99_ms), median(result.jobs_per_s)
        ratio = (
            f"{p50 / best_p50:.2f}x / {rate / best_rate:.2f}x"
            if best_p50 is not None and best_rate is not None
            else "n/a (no peer ran)"
        )
        print(f"| {name} | {p50:.1f} / {p99:.1f} | {rate:.1f} | {ratio} |")
    print()
    print("Load average (1/5/15 min) after each run, per round: latency run | throughput run")
    print()
    for name, result in results.items():
        print(f"- {name}: " + "; ".join(result.load))


if __name__ == "__main__":
    main()
