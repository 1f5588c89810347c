"""Cancel and retry through a real stack (worker subprocesses, MQTT) on SQLite and PostgreSQL:
a cancelled queued job never starts; a running HLS encode is stopped at once, its ffmpeg killed
and its partial output removed; retries run the same job again as a new attempt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import imageio_ffmpeg
import psutil
import pytest

from tests.integration.compute.job_ops import DATABASES, Database, post_action, stack_on
from tests.support.event_recorder import recording_events
from tests.support.jobs import get_job, submit_ok, wait_for_status
from tests.support.media import make_jpeg, make_truncated_jpeg
from tests.support.stack import Stack, WorkerProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

STOPPED_ON_EVENT = "was cancelled; stopping it"
"""The worker's log line when the ``cancelled`` event (not a refused lease) stopped the job."""


def _jobs_dir(stack: Stack) -> Path:
    return stack.data_dir / "compute" / "jobs"


def _cannot_cancel(job_id: str, status: str) -> dict[str, str]:
    return {"detail": f"Job {job_id} is {status}; only queued or processing jobs can be cancelled"}


def _cannot_retry(job_id: str, status: str) -> dict[str, str]:
    return {"detail": f"Job {job_id} is {status}; only failed or cancelled jobs can be retried"}


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s of 640x360 video: HLS takes many seconds, leaving time to cancel mid-encode."""
    path = tmp_path_factory.mktemp("cancel-media") / "long.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
         "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30:duration=60",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def _ffmpeg_children(worker: WorkerProcess) -> list[psutil.Process]:
    found: list[psutil.Process] = []
    for child in psutil.Process(worker.process.pid).children(recursive=True):
        try:
            if "ffmpeg" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _idle_count(stack: Stack, task_type: str) -> int:
    capabilities: dict[str, int] = httpx.get(f"{stack.compute_url}/capabilities").json()[
        "capabilities"
    ]
    return capabilities.get(task_type, 0)


@pytest.mark.parametrize("database", DATABASES)
def test_cancelled_queued_job_never_starts_and_retry_runs_it(
    database: Database, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "photo.jpg")
    with stack_on(database, tmp_path) as stack:  # no worker yet: the job stays queued
        url = stack.compute_url
        with recording_events(stack.mqtt_host, stack.mqtt_port) as recorder:
            job_id = submit_ok(url, "hash", photo)
            response = post_action(stack, job_id, "cancel")
            assert response.status_code == 200, response.text
            cancelled = response.json()
            assert (cancelled["status"], cancelled["attempt"]) == ("cancelled", 0)
            assert cancelled["completed_at"] is not None
            assert cancelled["error_message"] is None  # auth disabled: nobody to name
            assert recorder.wait_for(lambda: "cancelled" in recorder.kinds(job_id), 10)
        again = post_action(stack, job_id, "cancel")
        assert (again.status_code, again.json()) == (409, _cannot_cancel(job_id, "cancelled"))

        worker = stack.start_worker(["hash"])
        stack.wait_for_workers(1)
        later = submit_ok(url, "hash", photo)
        assert wait_for_status(url, later, timeout=30)["status"] == "completed"

        # The worker ran the later job and never touched the cancelled one.
        job = get_job(url, job_id)
        assert (job["status"], job["attempt"], job["started_at"]) == ("cancelled", 0, None)
        assert job["worker_id"] is None
        assert job_id not in worker.log()
        assert (_jobs_dir(stack) / job_id / "input" / "photo.jpg").is_file()

        retried = post_action(stack, job_id, "retry")
        assert retried.status_code == 200, retried.text
        body = retried.json()
        assert (body["status"], body["progress"], body["error_message"]) == ("queued", 0, None)
        assert body["completed_at"] is None and body["params"] == job["params"]
        done = wait_for_status(url, job_id, timeout=30)
        assert (done["status"], done["attempt"]) == ("completed", 1)
        assert done["worker_id"] == worker.worker_id
        assert done["task_output"] == {"media_type": "image"}

        for action, expected in (
            ("retry", _cannot_retry(job_id, "completed")),
            ("cancel", _cannot_cancel(job_id, "completed")),
        ):
            refused = post_action(stack, job_id, action)
            assert (refused.status_code, refused.json()) == (409, expected)


@pytest.mark.parametrize("database", DATABASES)
def test_cancel_stops_a_running_hls_encode_at_once(
    database: Database, tmp_path: Path, long_clip: Path
) -> None:
    with stack_on(database, tmp_path, tasks=["hls_streaming", "hash"]) as stack:
        url = stack.compute_url
        worker = stack.workers[0]
        with recording_events(stack.mqtt_host, stack.mqtt_port) as recorder:
            job_id = submit_ok(url, "hls_streaming", long_clip)
            job_dir = _jobs_dir(stack) / job_id
            wait_until(lambda: any((job_dir / "output").glob("*.ts")), 60, "no HLS segment written")
            encoders = _ffmpeg_children(worker)
            assert encoders, "ffmpeg is not running under the worker"
            assert get_job(url, job_id)["status"] == "processing"
            busy = post_action(stack, job_id, "retry")
            assert (busy.status_code, busy.json()) == (409, _cannot_retry(job_id, "processing"))

            response = post_action(stack, job_id, "cancel")

            assert response.status_code == 200, response.text
            assert response.json()["status"] == "cancelled"
            _gone, alive = psutil.wait_procs(encoders, timeout=10)
            assert not alive, "ffmpeg outlived the cancel"
            wait_until(lambda: _idle_count(stack, "hls_streaming") == 1, 20, "worker still busy")
            kinds = recorder.kinds(job_id)

        assert STOPPED_ON_EVENT in worker.log()
        job = get_job(url, job_id)
        assert (job["status"], job["task_output"]) == ("cancelled", None)
        assert job["worker_id"] == worker.worker_id and job["attempt"] == 1
        assert "cancelled" in kinds
        assert "completed" not in kinds and "failed" not in kinds, kinds
        # Partial output gone (removed by the service and again once ffmpeg had stopped),
        # the upload kept for a retry.
        assert sorted(p.name for p in job_dir.iterdir()) == ["input"]
        assert (job_dir / "input" / long_clip.name).stat().st_size == long_clip.stat().st_size
        assert not _ffmpeg_children(worker)

        # The same worker process serves the next job.
        next_job = submit_ok(url, "hash", make_jpeg(tmp_path / "next.jpg"))
        assert wait_for_status(url, next_job, timeout=30)["status"] == "completed"
        assert worker.process.poll() is None


@pytest.mark.parametrize("database", DATABASES)
def test_retried_failed_job_fails_again_as_a_new_attempt(
    database: Database, tmp_path: Path
) -> None:
    broken = make_truncated_jpeg(tmp_path / "broken.jpg")
    with stack_on(database, tmp_path, tasks=["exif"]) as stack:
        url = stack.compute_url
        worker = stack.workers[0]
        job_id = submit_ok(url, "exif", broken)
        first = wait_for_status(url, job_id, timeout=30)
        assert (first["status"], first["attempt"]) == ("failed", 1)
        assert first["error_message"]

        with recording_events(stack.mqtt_host, stack.mqtt_port) as recorder:
            response = post_action(stack, job_id, "retry")
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["status"], body["progress"], body["attempt"]) == ("queued", 0, 1)
            assert body["error_message"] is None and body["task_output"] is None
            assert body["started_at"] is None and body["completed_at"] is None
            second = wait_for_status(url, job_id, timeout=30)
            assert recorder.wait_for(lambda: "failed" in recorder.kinds(job_id), 10)
            kinds = recorder.kinds(job_id)

        assert (second["status"], second["attempt"]) == ("failed", 2)
        assert second["error_message"] == first["error_message"]
        assert second["worker_id"] == worker.worker_id
        assert second["created_at"] == first["created_at"] and second["params"] == first["params"]
        assert kinds[:2] == ["queued", "processing"]
