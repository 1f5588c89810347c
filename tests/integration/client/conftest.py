"""Media and helpers for the SDK integration tests (real stack, real broker, real workers)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cl_client import ComputeClient, JobResponse, WorkerUnavailableError
from tests.support.media import camera_exif, make_jpeg, make_truncated_jpeg

FACES_DIR = Path(__file__).resolve().parents[2] / "data" / "faces"


@dataclass(frozen=True)
class Media:
    photo: Path
    """JPEG with camera EXIF tags (Make ``Acme``)."""
    truncated: Path
    """A JPEG cut to a third: plugins that decode it fail."""
    face: Path | None
    clip: Path | None
    """2 s 320x240 H.264 clip (None when no ffmpeg is available)."""


def _make_clip(path: Path) -> Path | None:
    try:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if found is None:
            return None
        ffmpeg = found
    subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=size=320x240:rate=15:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-g", "15", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    root = tmp_path_factory.mktemp("sdk-media")
    face_src = FACES_DIR / "obama.jpg"
    face = None
    if face_src.is_file():
        face = root / "face.jpg"
        shutil.copyfile(face_src, face)
    return Media(
        photo=make_jpeg(root / "photo.jpg", (96, 64), exif=camera_exif("Acme", "Shooter 3")),
        truncated=make_truncated_jpeg(root / "broken.jpg"),
        face=face,
        clip=_make_clip(root / "clip.mp4"),
    )


class CallbackRecorder:
    """Collects ``on_progress``/``on_complete`` calls and lets a test await completion."""

    def __init__(self) -> None:
        self.progress: list[JobResponse] = []
        self.complete: list[JobResponse] = []
        self.done = asyncio.Event()

    def on_progress(self, job: JobResponse) -> None:
        self.progress.append(job)

    async def on_complete(self, job: JobResponse) -> None:  # async on purpose: both kinds work
        self.complete.append(job)
        self.done.set()

    async def wait(self, limit: float = 30.0) -> JobResponse:
        await asyncio.wait_for(self.done.wait(), limit)
        return self.complete[0]


async def terminal_events_seen(
    client: ComputeClient, job_id: str, count: int, limit: float = 10.0
) -> None:
    """Wait until ``count`` terminal MQTT events (original + re-publication) arrived for a job."""
    loop = asyncio.get_running_loop()
    seen = asyncio.Event()
    counter = {"n": 0}

    def on_event(job: JobResponse) -> None:
        if job.is_terminal:
            counter["n"] += 1
            if counter["n"] >= count:
                loop.call_soon_threadsafe(seen.set)

    token = client._mqtt.add_job_listener(job_id, on_event)
    try:
        await asyncio.wait_for(seen.wait(), limit)
    finally:
        client._mqtt.remove_job_listener(job_id, token)


async def require_task(client: ComputeClient, task_type: str, wait: float = 20.0) -> None:
    """Skip unless a worker offers ``task_type`` soon (plugins are built in parallel).

    A task that no known worker lists at all gets a short grace period; one that is listed but
    busy gets the full ``wait``.
    """
    try:
        await client.wait_for_workers([task_type], timeout=3.0)
        return
    except WorkerUnavailableError as exc:
        if task_type not in exc.available_capabilities:
            pytest.skip(f"server offers no {task_type} worker: {exc}")
    try:
        await client.wait_for_workers([task_type], timeout=wait)
    except WorkerUnavailableError as exc:
        pytest.skip(f"no idle {task_type} worker within {wait:g} s: {exc}")
