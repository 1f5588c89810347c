"""Job listing, cancel, retry, workers, and ``cl-client`` watching jobs, on a real stack.

The SDK pages through ``GET /jobs`` of a real compute service; the CLI runs as a subprocess
(real signals, real MQTT) for ``jobs list``/``jobs watch``, Ctrl-C and a compute service that
goes away mid-watch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from cl_client import ComputeClient, InvalidRequestError, JobNotFoundHTTPError
from cl_server.broker import EmbeddedBroker
from cl_server.settings import ComputeSettings
from tests.support.jobs import submit_ok
from tests.support.media import make_jpeg
from tests.support.stack import running_stack
from tests.support.uvicorn_thread import serve_app
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def cl_client(
    compute_url: str, mqtt_host: str, mqtt_port: int, *args: str
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env["COLUMNS"] = "80"
    command = [
        sys.executable, "-c", "from cl_client.cli.main import main; main()",
        "--no-auth", "--compute-url", compute_url,
        "--mqtt-broker", mqtt_host, "--mqtt-port", str(mqtt_port),
        *args,
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


# ---------------------------------------------------------------------- SDK on a real stack


async def test_list_cancel_retry_and_workers(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "p.jpg")
    with running_stack(tmp_path / "stack", mode="no-auth", workers=0) as stack:
        # No worker yet: every job stays queued, so the list is stable while we page.
        ids = [submit_ok(stack.compute_url, "hash", image) for _ in range(7)]
        exif_id = submit_ok(stack.compute_url, "exif", image)
        async with ComputeClient(
            base_url=stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port
        ) as client:
            listed = [job.job_id async for job in client.list_jobs(page_size=3)]
            assert listed == [exif_id, *reversed(ids)]
            page = await client.list_jobs_page(task_type="hash", limit=5)
            assert [j.job_id for j in page.jobs] == list(reversed(ids))[:5]
            assert page.next_cursor is not None
            rest = await client.list_jobs_page(task_type="hash", limit=5, cursor=page.next_cursor)
            assert [j.job_id for j in rest.jobs] == list(reversed(ids))[5:]
            assert rest.next_cursor is None
            newest = page.jobs[0].created_at
            recent = [j.job_id async for j in client.list_jobs(created_after=newest)]
            assert ids[-1] in recent and ids[0] not in recent

            cancelled = await client.cancel_job(ids[0])
            assert cancelled.status == "cancelled"
            with pytest.raises(InvalidRequestError) as info:
                await client.cancel_job(ids[0])
            assert info.value.status_code == 409
            only = [j.job_id async for j in client.list_jobs(status="cancelled")]
            assert only == [ids[0]]
            with pytest.raises(InvalidRequestError, match="only failed or cancelled"):
                await client.retry_job(ids[1])
            assert (await client.retry_job(ids[0])).status == "queued"
            with pytest.raises(JobNotFoundHTTPError):
                await client.cancel_job("00000000-0000-4000-8000-000000000000")

            stack.start_worker(["hash", "exif"], "lister")
            stack.wait_for_workers(1)
            workers = await client.list_workers()
            assert [w.worker_id for w in workers] == ["lister"]
            assert set(workers[0].task_types) == {"hash", "exif"}
            for job_id in [*ids, exif_id]:
                assert (await client.wait_for_job(job_id, timeout=60)).status == "completed"
            done = [j async for j in client.list_jobs(status=["completed"], page_size=2)]
            assert len(done) == 8


def test_cli_list_and_watch(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "w.jpg")
    with running_stack(tmp_path / "stack", mode="no-auth", workers=0) as stack:
        job_id = submit_ok(stack.compute_url, "hash", image)
        where = (stack.compute_url, stack.mqtt_host, stack.mqtt_port)
        code, out, err = finish(cl_client(*where, "jobs", "list", "--status", "queued"))
        assert code == 0, err
        assert out.splitlines()[1].startswith(f"{job_id}  hash")

        watch = cl_client(*where, "jobs", "watch", job_id, "-t", "60")
        stack.start_worker(["hash"], "runner")
        code, out, err = finish(watch)
        assert code == 0, err
        assert f"job {job_id}  hash  completed" in err  # the block (stdout is a pipe: JSON)
        assert "hash:  sha512_image " in err
        assert '"status": "completed"' in out

        code, out, err = finish(cl_client(*where, "jobs", "wait", job_id))
        assert code == 0, err
        assert '"status": "completed"' in out and f"job {job_id}  hash  completed" in err

        code, out, _ = finish(cl_client(*where, "workers", "list"))
        assert code == 0 and out.startswith("runner  idle")


# ---------------------------------------------------------------------- Ctrl-C, lost server


@dataclass
class RequestLog:
    """ASGI middleware that records ``METHOD path`` of every request (evidence, not sleeps)."""

    app: ASGIApp
    seen: list[str] = field(default_factory=list[str])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)

    def count(self, entry: str) -> int:
        return self.seen.count(entry)


@dataclass
class Compute:
    url: str
    broker: EmbeddedBroker
    log: RequestLog
    stop: ExitStack


@pytest.fixture
def compute(tmp_path: Path) -> Iterator[Compute]:
    """A compute service and broker without workers, which a test may stop mid-way."""
    from cl_server.compute.app import create_app

    with ExitStack() as stack:
        broker = EmbeddedBroker("127.0.0.1", 0)
        broker.start()
        stack.callback(broker.stop)
        settings = ComputeSettings(
            data_dir=tmp_path / "data",
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_username=broker.credentials.username,  # the broker's service account
            mqtt_password=SecretStr(broker.credentials.password),
            no_auth=True,
            auth_url="http://127.0.0.1:9",  # never asked: auth is disabled
        )
        log = RequestLog(create_app(settings))
        server = ExitStack()
        stack.enter_context(server)
        url = server.enter_context(serve_app(log))
        yield Compute(url, broker, log, server)


def watching(compute: Compute, image: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``hash compute --watch`` and return once it follows its (forever queued) job."""
    process = cl_client(
        compute.url, compute.broker.host, compute.broker.port, "hash", "compute", str(image),
        "--watch", "-t", "120",
    )  # fmt: skip

    def job_followed() -> bool:
        jobs = httpx.get(f"{compute.url}/jobs", timeout=5).json()["jobs"]
        if process.poll() is not None:
            raise AssertionError(f"cl-client exited early: {process.communicate()}")
        # The submission's own GET, then at least one watch check.
        return bool(jobs) and compute.log.count(f"GET /jobs/{jobs[0]['job_id']}") >= 2

    wait_until(job_followed, 60, "cl-client never followed its job")
    return process, httpx.get(f"{compute.url}/jobs", timeout=5).json()["jobs"][0]["job_id"]


def test_ctrl_c_prints_how_to_reattach(compute: Compute, tmp_path: Path) -> None:
    process, job_id = watching(compute, make_jpeg(tmp_path / "c.jpg"))
    process.send_signal(signal.SIGINT)
    code, _out, err = finish(process, 30)
    assert code == 130, err
    assert f"reattach with: cl-client --compute-url {compute.url} jobs watch {job_id}" in err
    assert "Traceback" not in err
    job = httpx.get(f"{compute.url}/jobs/{job_id}", timeout=5).json()
    assert job["status"] == "queued"  # only the watching stopped


def test_watch_reports_a_compute_service_that_went_away(compute: Compute, tmp_path: Path) -> None:
    process, job_id = watching(compute, make_jpeg(tmp_path / "l.jpg"))
    stopped = time.monotonic()
    compute.stop.close()  # uvicorn shuts down: connections are refused from now on
    compute.broker.stop()
    code, _out, err = finish(process, 30)
    assert time.monotonic() - stopped < 10, err
    assert code == 1, err
    assert (
        f"Error: lost the connection to the compute service at {compute.url}; the job continues "
        f"on the server; reattach with: cl-client --compute-url {compute.url} jobs watch {job_id}"
    ) in err
    assert "Traceback" not in err
