"""Job overhead: what the service adds on top of the plugin's own compute time.

Measures, on a real stack (embedded broker, auth + compute over HTTP, worker subprocesses):
1. submit -> terminal MQTT event latency for ``hash`` on a small JPEG, one worker (p50, p99);
2. sustained jobs/s with two workers;
each printed beside the hash plugin's own run time on the same file, measured in the same run.

Run: ``uv run python bench/job_overhead.py [--jobs 100] [--burst-jobs 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cl_client.paho_shutdown import shut_down_paho_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_server.plugins.base import JobContext  # noqa: E402
from cl_server.plugins.registry import get_spec  # noqa: E402
from tests.support.media import make_jpeg  # noqa: E402
from tests.support.stack import running_stack  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def direct_plugin_time(image: Path, work: Path, runs: int) -> float:
    """Median seconds of the hash runner itself (no HTTP, no queue) on the same file."""
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


def submit(client: httpx.Client, image: Path) -> str:
    response = client.post("/jobs/hash", files={"file": (image.name, image.read_bytes())})
    response.raise_for_status()
    job_id: str = response.json()["job_id"]
    return job_id


def latency_run(compute_url: str, events: TerminalEvents, image: Path, jobs: int) -> list[float]:
    latencies: list[float] = []
    with httpx.Client(base_url=compute_url) as client:
        for _ in range(jobs):
            start = time.perf_counter()
            job_id = submit(client, image)
            events.wait_for({job_id})
            latencies.append(events.arrivals[job_id] - start)
    return latencies


async def _submit_all(compute_url: str, image: Path, data: bytes, jobs: int) -> list[str]:
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(base_url=compute_url, limits=limits, timeout=60) as client:

        async def one() -> str:
            response = await client.post("/jobs/hash", files={"file": (image.name, data)})
            response.raise_for_status()
            job_id: str = response.json()["job_id"]
            return job_id

        return await asyncio.gather(*(one() for _ in range(jobs)))


def throughput_run(compute_url: str, events: TerminalEvents, image: Path, jobs: int) -> float:
    start = time.perf_counter()
    job_ids = asyncio.run(_submit_all(compute_url, image, image.read_bytes(), jobs))
    events.wait_for(set(job_ids), timeout=600)
    return jobs / (max(events.arrivals[j] for j in job_ids) - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100, help="sequential jobs for latency")
    parser.add_argument("--burst-jobs", type=int, default=200, help="jobs for throughput")
    parser.add_argument(
        "--broker", choices=["embedded", "mosquitto"], default="embedded", help="MQTT broker"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        image = make_jpeg(work / "small.jpg", (320, 240))
        plugin_s = direct_plugin_time(image, work, runs=50)

        with running_stack(
            work / "one", workers=1, tasks=["hash"], broker_kind=args.broker
        ) as stack:
            events = TerminalEvents(stack.mqtt_host, stack.mqtt_port)
            latency_run(stack.compute_url, events, image, 5)  # warm-up
            latencies = latency_run(stack.compute_url, events, image, args.jobs)
            events.close()

        with running_stack(
            work / "two", workers=2, tasks=["hash"], broker_kind=args.broker
        ) as stack:
            events = TerminalEvents(stack.mqtt_host, stack.mqtt_port)
            throughput_run(stack.compute_url, events, image, 10)  # warm-up
            jobs_per_s = throughput_run(stack.compute_url, events, image, args.burst_jobs)
            events.close()

    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    ideal = 2 / plugin_s
    print(f"broker: {args.broker}")
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


if __name__ == "__main__":
    main()
