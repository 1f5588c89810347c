"""Job overhead: what the service adds on top of the plugin's own compute time.

Measures, on a real stack where every part is its own process (MQTT broker, auth service,
compute service, each worker; this script is only the load generator):
1. submit -> terminal MQTT event latency for ``hash`` on a small JPEG, one worker (p50, p99);
2. sustained jobs/s with two workers;
each printed beside the hash plugin's own run time on the same file, measured in the same run.

``process_stack`` (the stack launcher) and the measuring helpers are shared with
``bench/peers.py``.

Run: ``uv run python bench/job_overhead.py [--jobs 100] [--burst-jobs 200] [--broker mosquitto]
[--store postgres]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from cl_client.paho_shutdown import shut_down_paho_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_server.broker.embedded import pick_free_port  # noqa: E402
from cl_server.broker.probe import broker_reachable  # noqa: E402

BrokerKind = Literal["embedded", "mosquitto"]
StoreKind = Literal["sqlite", "postgres"]
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0
BENCH_ADMIN_PASSWORD = "bench-admin-password"


# --------------------------------------------------------------------------- the stack


@dataclass
class ProcessStack:
    """Broker, auth, compute and workers, each a ``python -m cl_server.cli`` subprocess."""

    data_dir: Path
    compute_url: str
    auth_url: str
    mqtt_host: str
    mqtt_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(
        default_factory=dict[str, subprocess.Popen[bytes]]
    )

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def os_processes(self) -> dict[str, psutil.Process]:
        """Each process of the stack by name, for reading its CPU time."""
        return {name: psutil.Process(popen.pid) for name, popen in self.processes.items()}

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.log(name)}")


def _spawn(
    stack: ProcessStack, name: str, args: Sequence[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with (stack.data_dir / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cl_server.cli", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.processes[name] = process
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _wait(stack: ProcessStack, what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            if ready():
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {READY_TIMEOUT_S:.0f} s")


def _start_mosquitto(stack: ProcessStack, port: int) -> subprocess.Popen[bytes]:
    from tests.support.mosquitto import MOSQUITTO

    if MOSQUITTO is None:
        raise RuntimeError("mosquitto is not installed")
    config = stack.data_dir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "set_tcp_nodelay true\n"
    )
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stack.processes["broker"] = process
    return process


@contextmanager
def process_stack(
    work: Path,
    *,
    workers: int,
    tasks: Sequence[str] = ("hash",),
    broker_kind: BrokerKind = "embedded",
    database_url: str | None = None,
) -> Iterator[ProcessStack]:
    """Start broker, auth, compute and ``workers`` workers as separate processes on free ports
    with a fresh data directory under ``work`` and ``--no-auth``; stop them all on exit
    (workers first, broker last)."""
    data_dir = work / "cl-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    host = "127.0.0.1"
    auth_port, compute_port, mqtt_port = (pick_free_port(host) for _ in range(3))
    stack = ProcessStack(
        data_dir=data_dir,
        compute_url=f"http://{host}:{compute_port}",
        auth_url=f"http://{host}:{auth_port}",
        mqtt_host=host,
        mqtt_port=mqtt_port,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env.update(
        {
            "CL_SERVER_DIR": str(data_dir),
            "CL_HOST": host,
            "CL_AUTH_PORT": str(auth_port),
            "CL_COMPUTE_PORT": str(compute_port),
            "CL_MQTT_HOST": host,
            "CL_MQTT_PORT": str(mqtt_port),
            "CL_AUTH_URL": stack.auth_url,
            "CL_NO_AUTH": "true",
            "CL_TASKS": ",".join(tasks),
            "CL_ADMIN_PASSWORD": BENCH_ADMIN_PASSWORD,
            **({"CL_COMPUTE_DATABASE_URL": database_url} if database_url else {}),
            "PYTHONUNBUFFERED": "1",
        }
    )
    with ExitStack() as cleanup:
        if broker_kind == "mosquitto":
            cleanup.callback(_stop, _start_mosquitto(stack, mqtt_port))
        else:
            broker = _spawn(
                stack, "broker", ["broker", "--host", host, "--port", str(mqtt_port)], env
            )
            cleanup.callback(_stop, broker)
        _wait(stack, "MQTT broker", lambda: broker_reachable(host, mqtt_port))
        for name in ("auth", "compute"):
            cleanup.callback(_stop, _spawn(stack, name, [name], env))
        for url in (stack.auth_url, stack.compute_url):
            _wait(stack, url, lambda u=url: httpx.get(f"{u}/", timeout=2).status_code == 200)
        worker_processes = [
            _spawn(
                stack, f"worker-{i + 1}", ["worker", "--worker-id", f"bench-worker-{i + 1}"], env
            )
            for i in range(workers)
        ]

        def stop_workers() -> None:
            for process in worker_processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in worker_processes:
                _stop(process)

        cleanup.callback(stop_workers)
        _wait(
            stack,
            f"{workers} worker(s)",
            lambda: (
                httpx.get(f"{stack.compute_url}/capabilities", timeout=2).json()["num_workers"]
                >= workers
            ),
        )
        yield stack


# --------------------------------------------------------------------------- measuring


def cpu_seconds(process: psutil.Process) -> float:
    """User plus system CPU time the process has used so far."""
    times = process.cpu_times()
    return times.user + times.system


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def direct_plugin_time(image: Path, work: Path, runs: int) -> float:
    """Median seconds of the hash runner itself (no HTTP, no queue) on the same file."""
    from cl_server.plugins.base import JobContext
    from cl_server.plugins.registry import get_spec

    spec = get_spec("hash")
    assert spec is not None
    runner = spec.load(None)
    times: list[float] = []
    for i in range(runs):
        job_dir = work / f"direct-{i}"
        (job_dir / "input").mkdir(parents=True)
        target = job_dir / "input" / image.name
        target.write_bytes(image.read_bytes())
        params = {"algorithm": "sha512", "input_path": f"input/{image.name}"}
        context = JobContext(
            job_id=f"direct-{i}", job_dir=job_dir, input_path=target, params=params
        )
        start = time.perf_counter()
        runner.run(context)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class TerminalEvents:
    """Records when each job's first terminal event arrives over MQTT."""

    def __init__(self, host: str, port: int) -> None:
        self.arrivals: dict[str, float] = {}
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._client.on_connect = lambda c, *_: c.subscribe("inference/events", qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("could not subscribe to inference/events")

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if message.topic != "inference/events":
            return
        event = json.loads(message.payload)
        if event["event_type"] in {"completed", "failed"}:
            with self._cond:
                self.arrivals.setdefault(event["job_id"], time.perf_counter())
                self._cond.notify_all()

    def wait_for(self, job_ids: set[str], timeout: float = 120) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: job_ids <= self.arrivals.keys(), timeout):
                raise TimeoutError(f"{len(job_ids - self.arrivals.keys())} jobs never finished")

    def close(self) -> None:
        shut_down_paho_client(self._client)


class Submitter:
    """Posts ``hash`` jobs as the SDK does (multipart form, one file), over keep-alive
    connections of the standard library's ``http.client``.

    The load generator shares the machine's CPUs with the stack it measures, so it must cost
    little: the multipart body is built once, and ``http.client`` spends a fraction of what
    httpx's connection pool does per request (the SDK's own cost is not what this measures).
    """

    BOUNDARY = "cl-bench-boundary-7d1f"

    def __init__(self, compute_url: str, image: Path) -> None:
        parsed = urllib.parse.urlsplit(compute_url)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 80
        self._body = (
            (
                f"--{self.BOUNDARY}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{image.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + image.read_bytes()
            + f"\r\n--{self.BOUNDARY}--\r\n".encode()
        )
        self._headers = {"Content-Type": f"multipart/form-data; boundary={self.BOUNDARY}"}
        self._local = threading.local()

    def submit(self) -> str:
        """Submit one job from this thread's connection; its ``job_id``."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
            self._local.connection = connection
        connection.request("POST", "/jobs/hash", body=self._body, headers=self._headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"submit answered {response.status}: {payload[:200]!r}")
        job_id: str = json.loads(payload)["job_id"]
        return job_id

    def submit_many(self, jobs: int, connections: int = 8) -> list[str]:
        with ThreadPoolExecutor(connections) as pool:
            return list(pool.map(lambda _i: self.submit(), range(jobs)))


def latency_run(compute_url: str, events: TerminalEvents, image: Path, jobs: int) -> list[float]:
    """Sequential submit -> terminal event, seconds per job."""
    submitter = Submitter(compute_url, image)
    latencies: list[float] = []
    for _ in range(jobs):
        start = time.perf_counter()
        job_id = submitter.submit()
        events.wait_for({job_id})
        latencies.append(events.arrivals[job_id] - start)
    return latencies


def throughput_run(compute_url: str, events: TerminalEvents, image: Path, jobs: int) -> float:
    """Submit ``jobs`` at once (8 connections), wait for every terminal event; jobs per second."""
    submitter = Submitter(compute_url, image)
    start = time.perf_counter()
    job_ids = submitter.submit_many(jobs)
    events.wait_for(set(job_ids), timeout=600)
    return jobs / (max(events.arrivals[j] for j in job_ids) - start)


@contextmanager
def measured_stack(
    work: Path, workers: int, broker_kind: BrokerKind, store: StoreKind
) -> Iterator[tuple[ProcessStack, TerminalEvents]]:
    """A fresh stack with ``workers`` workers and a listener for terminal events."""
    with (
        job_store_url(store) as database_url,
        process_stack(
            work, workers=workers, broker_kind=broker_kind, database_url=database_url
        ) as stack,
    ):
        events = TerminalEvents(stack.mqtt_host, stack.mqtt_port)
        try:
            yield stack, events
        finally:
            events.close()


def measure_latency(
    work: Path,
    image: Path,
    jobs: int,
    broker_kind: BrokerKind = "embedded",
    warmup: int = 5,
    store: StoreKind = "sqlite",
) -> list[float]:
    """A fresh 1-worker stack; ``jobs`` sequential latencies after ``warmup`` jobs."""
    with measured_stack(work, 1, broker_kind, store) as (stack, events):
        latency_run(stack.compute_url, events, image, warmup)
        return latency_run(stack.compute_url, events, image, jobs)


def measure_throughput(
    work: Path,
    image: Path,
    jobs: int,
    broker_kind: BrokerKind = "embedded",
    warmup: int = 10,
    store: StoreKind = "sqlite",
) -> float:
    """A fresh 2-worker stack; jobs/s for a burst of ``jobs`` after a ``warmup`` burst."""
    with measured_stack(work, 2, broker_kind, store) as (stack, events):
        throughput_run(stack.compute_url, events, image, warmup)
        return throughput_run(stack.compute_url, events, image, jobs)


@contextmanager
def job_store_url(store: StoreKind) -> Iterator[str | None]:
    """``None`` (the default SQLite file) or a fresh PostgreSQL database, dropped afterwards."""
    if store == "sqlite":
        yield None
        return
    from tests.support.postgres import fresh_database

    with fresh_database("cl_bench_jobs") as url:
        yield url


def make_bench_jpeg(path: Path) -> Path:
    """The 320x240 JPEG every benchmark uses."""
    from tests.support.media import make_jpeg

    return make_jpeg(path, (320, 240))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100, help="sequential jobs for latency")
    parser.add_argument("--burst-jobs", type=int, default=200, help="jobs for throughput")
    parser.add_argument(
        "--broker", choices=["embedded", "mosquitto"], default="embedded", help="MQTT broker"
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="job store (postgres: a fresh database on CL_TEST_POSTGRES_URL's server)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = make_bench_jpeg(work / "small.jpg")
        plugin_s = direct_plugin_time(image, work, runs=50)
        latencies = measure_latency(work / "one", image, args.jobs, args.broker, store=args.store)
        load_latency = os.getloadavg()
        jobs_per_s = measure_throughput(
            work / "two", image, args.burst_jobs, args.broker, store=args.store
        )
        load_throughput = os.getloadavg()

    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    ideal = 2 / plugin_s
    print(
        f"broker: {args.broker}; job store: {args.store}; every service and worker its own process"
    )
    print(f"hash plugin alone (median of 50, 320x240 JPEG): {plugin_s * 1000:.2f} ms")
    print(
        f"submit -> completed event, 1 worker, {args.jobs} jobs: "
        f"p50 {p50 * 1000:.1f} ms ({p50 / plugin_s:.1f}x plugin), "
        f"p99 {p99 * 1000:.1f} ms ({p99 / plugin_s:.1f}x plugin)"
    )
    print(
        f"sustained, 2 workers, {args.burst_jobs} jobs: {jobs_per_s:.1f} jobs/s "
        f"(plugin-only ceiling for 2 workers {ideal:.0f} jobs/s; "
        f"service reaches {jobs_per_s / ideal:.1%} of it)"
    )
    print(
        "load average (1/5/15 min) after latency run: "
        + " ".join(f"{x:.2f}" for x in load_latency)
        + "; after throughput run: "
        + " ".join(f"{x:.2f}" for x in load_throughput)
    )


if __name__ == "__main__":
    main()
