"""Workers that die, stop or lose the broker never lose a job (ARCHITECTURE: job semantics)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.event_recorder import recording_events
from tests.support.jobs import get_job, submit, submit_ok, wait_for_status
from tests.support.media import make_jpeg, make_large_png
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def capabilities(url: str) -> dict[str, object]:
    result: dict[str, object] = httpx.get(f"{url}/capabilities").json()
    return result


def test_sigkilled_worker_job_is_completed_by_another(tmp_path: Path) -> None:
    big = make_large_png(tmp_path / "big.png")
    with running_stack(tmp_path, workers=0) as stack:
        first = stack.start_worker(["hash"], "doomed")
        stack.wait_for_workers(1)
        job_id = submit_ok(stack.compute_url, "hash", big)
        wait_for_status(
            stack.compute_url, job_id, {"processing", "completed", "failed"}, timeout=30
        )
        first.kill()
        assert get_job(stack.compute_url, job_id)["status"] == "processing", "job ended before kill"

        second = stack.start_worker(["hash"], "rescuer")
        job = wait_for_status(stack.compute_url, job_id, timeout=60)
        assert job["status"] == "completed", job
        assert job["task_output"] == {"media_type": "image"}
        assert job_id in second.log()


def test_sigterm_idle_worker_exits_and_withdraws(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=1, tasks=["hash"]) as stack:
        assert capabilities(stack.compute_url)["num_workers"] == 1
        assert stack.workers[0].terminate(timeout=20) == 0
        wait_until(
            lambda: capabilities(stack.compute_url)["num_workers"] == 0, 10, "worker still listed"
        )


def test_sigterm_mid_job_finishes_or_releases(tmp_path: Path) -> None:
    big = make_large_png(tmp_path / "big.png")
    with running_stack(tmp_path, workers=1, tasks=["hash"]) as stack:
        job_id = submit_ok(stack.compute_url, "hash", big)
        wait_for_status(stack.compute_url, job_id, {"processing", "completed"}, timeout=30)
        stack.workers[0].process.send_signal(signal.SIGTERM)
        assert stack.workers[0].process.wait(30) == 0
        status = get_job(stack.compute_url, job_id)["status"]
        assert status in {"completed", "queued"}, status
        if status == "queued":
            stack.start_worker(["hash"])
        assert wait_for_status(stack.compute_url, job_id)["status"] == "completed"


def test_broker_outage_does_not_stall_jobs(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "o.jpg")
    with running_stack(tmp_path, workers=1, tasks=["hash"]) as stack:
        stack.stop_broker()
        job_id = submit_ok(stack.compute_url, "hash", image)
        assert wait_for_status(stack.compute_url, job_id, timeout=30)["status"] == "completed"

        stack.start_broker()
        announced = threading.Event()

        def on_worker_message(topic: str, payload: bytes) -> None:
            if topic == "inference/workers/test-worker-1" and payload:
                announced.set()  # the restarted broker started empty: this is a re-announcement

        with recording_events(
            stack.mqtt_host,
            stack.mqtt_port,
            extra_topics=["inference/workers/+"],
            on_other=on_worker_message,
        ) as recorder:
            # Services reconnect by themselves and the worker re-announces itself.
            assert announced.wait(30), "worker did not re-announce after broker restart"
            second = submit_ok(stack.compute_url, "hash", image)
            assert wait_for_status(stack.compute_url, second, timeout=30)["status"] == "completed"
            # Compute and worker publish over separate connections that reconnect independently
            # (each with its own back-off), so the events may interleave; all of them must arrive.
            assert recorder.wait_for(
                lambda: {"queued", "processing", "completed"} <= set(recorder.kinds(second)),
                timeout=30,
            ), recorder.events


def test_upload_limit_counts_streamed_bytes(tmp_path: Path) -> None:
    small = make_jpeg(tmp_path / "small.jpg", (8, 8))
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 50_000)
    with running_stack(tmp_path, workers=0, max_upload_bytes=20_000) as stack:
        assert submit(stack.compute_url, "hash", small).status_code == 200
        declared = submit(stack.compute_url, "hash", big)
        assert declared.status_code == 413
        assert "20000" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:
            boundary = b"--b0undary\r\n"
            yield boundary
            yield b'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
            for _ in range(50):
                yield b"y" * 1000
            yield b"\r\n--b0undary--\r\n"

        streamed = httpx.post(
            f"{stack.compute_url}/jobs/hash",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        assert streamed.status_code == 413


def test_burst_worker_drains_queue_by_priority(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "b.jpg")
    with running_stack(tmp_path, workers=0) as stack:
        low = submit_ok(stack.compute_url, "hash", image, data={"priority": "1"})
        mid = submit_ok(stack.compute_url, "hash", image, data={"priority": "5"})
        high = submit_ok(stack.compute_url, "hash", image, data={"priority": "9"})
        worker = stack.start_worker(["hash"], burst=True)
        assert worker.process.wait(60) == 0
        jobs = [get_job(stack.compute_url, job_id) for job_id in (high, mid, low)]
        assert all(job["status"] == "completed" for job in jobs), jobs
        started = [job["started_at"] for job in jobs]
        assert started == sorted(started)


def test_concurrency_runs_several_worker_processes(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "c.jpg")
    with running_stack(tmp_path, workers=0) as stack:
        pool = stack.start_worker(["hash"], "pool", extra_args=["--concurrency", "2"])
        stack.wait_for_workers(2)
        caps = capabilities(stack.compute_url)
        assert caps == {"num_workers": 2, "capabilities": {"hash": 2}, "unavailable": {}}
        job_ids = [submit_ok(stack.compute_url, "hash", image) for _ in range(6)]
        assert all(wait_for_status(stack.compute_url, j)["status"] == "completed" for j in job_ids)
        assert pool.terminate(timeout=30) == 0
        wait_until(
            lambda: capabilities(stack.compute_url)["num_workers"] == 0, 10, "pool still listed"
        )


def pool_workers(parent: psutil.Process) -> set[int]:
    """The pool's worker processes (multiprocessing also starts a resource tracker)."""
    return {
        child.pid
        for child in parent.children()
        if child.status() != psutil.STATUS_ZOMBIE
        and "multiprocessing.spawn" in " ".join(child.cmdline())
    }


def test_pool_replaces_a_child_that_dies(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "p.jpg")
    with running_stack(tmp_path, workers=0) as stack:
        pool = stack.start_worker(["hash"], "pool", extra_args=["--concurrency", "2"])
        stack.wait_for_workers(2)
        parent = psutil.Process(pool.process.pid)
        first = pool_workers(parent)
        assert len(first) == 2
        psutil.Process(min(first)).kill()
        wait_until(
            lambda: len(pool_workers(parent) - first) == 1 and len(pool_workers(parent)) == 2,
            30,
            f"pool did not replace the killed worker: {pool.log()}",
        )
        assert "exited with status -9; restarting" in pool.log()
        wait_until(
            lambda: pool.log().count(" serving: hash") == 3,  # two at start, one replacement
            30,
            f"the replacement did not start serving: {pool.log()}",
        )
        job_ids = [submit_ok(stack.compute_url, "hash", image) for _ in range(4)]
        assert all(wait_for_status(stack.compute_url, j)["status"] == "completed" for j in job_ids)
        assert pool.terminate(timeout=30) == 0


def test_job_past_the_time_limit_fails_and_the_worker_carries_on(tmp_path: Path) -> None:
    big = make_large_png(tmp_path / "big.png")
    small = make_jpeg(tmp_path / "small.jpg")
    with running_stack(tmp_path, workers=0) as stack:
        worker = stack.start_worker(["hash"], extra_env={"CL_JOB_TIMEOUT_SECONDS": "0.05"})
        stack.wait_for_workers(1)
        slow = wait_for_status(stack.compute_url, submit_ok(stack.compute_url, "hash", big))
        assert slow["status"] == "failed", slow
        assert slow["error_message"] == "hash: did not finish within the job time limit of 0.05 s"
        assert worker.process.poll() is None
        # The same plugin completes the job when the limit allows it.
        stack.stop_workers()
        stack.start_worker(["hash"], extra_env={"CL_JOB_TIMEOUT_SECONDS": "30"})
        fast = wait_for_status(stack.compute_url, submit_ok(stack.compute_url, "hash", small))
        assert fast["status"] == "completed"
