"""The media plugins through the real stack: compute service, embedded broker and a worker
process, on real media made in the test setup (PROTOCOL §4)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from PIL import Image

from cl_server.media.ffmpeg import orphan_guard
from cl_server.media.probe import probe_media
from cl_server.plugins.hls_streaming.playlists import peak_bit_rate
from tests.integration.media.conftest import (
    Clips,
    decode_errors,
    ffmpeg_pids_mentioning,
    segment_list,
)
from tests.support.jobs import get_job, submit, submit_ok, wait_for_status
from tests.support.stack import Stack, running_stack
from tests.support.waiting import wait_until
from tests.unit.plugins.media_samples import (
    GREEN,
    RED,
    is_close,
    make_alpha_png,
    make_bomb_png,
    make_empty_file,
    make_heic,
    make_oriented_jpeg,
    make_text_file,
    make_truncated_jpeg,
    mean_colour,
)

pytestmark = pytest.mark.integration

MEDIA_TASKS = ["image_conversion", "media_thumbnail", "hls_streaming"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("media-stack"), mode="no-auth", workers=1, tasks=MEDIA_TASKS
    ) as running:
        yield running


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    make_oriented_jpeg(root / "rotated.jpg", size=(600, 400), orientation=6)
    make_alpha_png(root / "alpha.png", size=(400, 200))
    make_heic(root / "photo.heic", size=(640, 480))
    return root


def run_job(
    stack: Stack, task: str, source: Path, timeout: float = 90, **form: str
) -> dict[str, Any]:
    job_id = submit_ok(stack.compute_url, task, source, data=form)
    return wait_for_status(stack.compute_url, job_id, timeout=timeout)


def download(stack: Stack, job: dict[str, Any], relative: str) -> bytes:
    response = httpx.get(f"{stack.compute_url}/jobs/{job['job_id']}/files/{relative}", timeout=30)
    assert response.status_code == 200, (relative, response.text)
    return response.content


def open_download(stack: Stack, job: dict[str, Any], relative: str) -> Image.Image:
    image = Image.open(io.BytesIO(download(stack, job, relative)))
    image.load()
    return image


# --- images ----------------------------------------------------------------------------------


def test_conversion_applies_orientation(stack: Stack, images: Path) -> None:
    job = run_job(stack, "image_conversion", images / "rotated.jpg", format="png")
    assert job["status"] == "completed", job
    assert job["task_output"] == {}
    assert job["params"]["format"] == "png"
    assert job["params"]["quality"] == 85
    assert job["params"]["output_path"] == "output/converted_rotated.png"
    image = open_download(stack, job, job["params"]["output_path"])
    assert image.format == "PNG"
    assert image.size == (400, 600)
    assert is_close(mean_colour(image, (0, 0, 400, 280)), RED)


def test_conversion_flattens_alpha_for_jpeg(stack: Stack, images: Path) -> None:
    job = run_job(stack, "image_conversion", images / "alpha.png", format="jpeg", quality="90")
    assert job["status"] == "completed", job
    assert job["params"]["output_path"] == "output/converted_alpha.jpg"
    image = open_download(stack, job, job["params"]["output_path"])
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (400, 200))
    assert is_close(mean_colour(image, (10, 10, 190, 190)), (255, 255, 255), tol=12)
    assert is_close(mean_colour(image, (210, 10, 390, 190)), GREEN)


def test_heic_thumbnail(stack: Stack, images: Path) -> None:
    job = run_job(stack, "media_thumbnail", images / "photo.heic", width="128")
    assert job["status"] == "completed", job
    assert job["task_output"] == {"media_type": "image"}
    assert job["params"]["output_path"] == "output/thumbnail.jpg"
    image = open_download(stack, job, "output/thumbnail.jpg")
    assert (image.format, image.size) == ("JPEG", (128, 96))


def test_rotated_thumbnail(stack: Stack, images: Path) -> None:
    job = run_job(stack, "media_thumbnail", images / "rotated.jpg")
    assert job["status"] == "completed", job
    image = open_download(stack, job, "output/thumbnail.jpg")
    assert image.size == (171, 256)  # 400x600 upright, fitted into 256x256


def test_video_thumbnail(stack: Stack, clips: Clips) -> None:
    job = run_job(stack, "media_thumbnail", clips.hd_10s, width="512")
    assert job["status"] == "completed", job
    assert job["task_output"] == {"media_type": "video"}
    image = open_download(stack, job, "output/thumbnail.jpg")
    assert (image.format, image.size) == ("JPEG", (512, 288))


# --- HLS on the 10 s 720p clip ---------------------------------------------------------------

SEGMENT = re.compile(r"^adaptive-(720p-3500|480p-1500|orig)-\d{3}\.ts$")


def test_hls_full_check(stack: Stack, clips: Clips, tmp_path: Path) -> None:
    job = run_job(stack, "hls_streaming", clips.hd_10s, timeout=120, include_original="true")
    assert job["status"] == "completed", job
    assert job["progress"] == 100
    assert job["params"]["output_path"] == "output"
    assert job["params"]["variants"] == [
        {"resolution": 720, "bitrate": 3500},
        {"resolution": 480, "bitrate": 1500},
    ]
    output = job["task_output"]
    assert output["master_playlist"] == "output/adaptive.m3u8"
    assert output["variants_generated"] == 2
    assert output["include_original"] is True

    master_text = download(stack, job, "output/adaptive.m3u8").decode()
    master = m3u8.loads(master_text)
    assert master.is_variant
    by_uri = {p.uri: p.stream_info for p in master.playlists}
    assert list(by_uri) == [
        "adaptive-720p-3500.m3u8",
        "adaptive-480p-1500.m3u8",
        "adaptive-orig.m3u8",
    ]
    assert by_uri["adaptive-720p-3500.m3u8"].resolution == (1280, 720)
    assert by_uri["adaptive-480p-1500.m3u8"].resolution == (854, 480)
    assert by_uri["adaptive-orig.m3u8"].resolution == (1280, 720)

    source_duration = probe_media(clips.hd_10s).duration_s
    assert source_duration is not None
    total_segments = 0
    local = tmp_path / "hls"
    local.mkdir()
    for uri, info in by_uri.items():
        media = m3u8.loads(download(stack, job, f"output/{uri}").decode())
        assert media.is_endlist
        assert media.playlist_type == "vod"
        segments = segment_list(media)
        durations = [d for _, d in segments]
        assert sum(durations) == pytest.approx(source_duration, abs=0.5)
        sizes: list[int] = []
        for segment_uri, _ in segments:
            assert SEGMENT.match(segment_uri), segment_uri
            data = download(stack, job, f"output/{segment_uri}")
            sizes.append(len(data))
            path = local / segment_uri
            path.write_bytes(data)
            assert decode_errors(path) == "", segment_uri
            probed = probe_media(path)
            assert probed.video is not None
            assert probed.audio is not None and probed.audio.codec == "aac"
        total_segments += len(segments)
        target = media.target_duration
        assert target is not None
        if uri != "adaptive-orig.m3u8":
            # Forced key frames: every segment but the last lasts the 2 s target.
            assert all(d == pytest.approx(2.0, abs=0.05) for d in durations[:-1])
            assert target == 2
        # BANDWIDTH is the RFC 8216 peak segment bit rate of the files served.
        bandwidth, average = info.bandwidth, info.average_bandwidth
        assert bandwidth == peak_bit_rate(sizes, durations, target)
        assert average is not None and bandwidth is not None
        assert average <= bandwidth
    assert output["total_segments"] == total_segments
    # VBV-constrained encodes stay under their ceiling (video + 128k audio + TS overhead).
    low = by_uri["adaptive-480p-1500.m3u8"].bandwidth
    assert low is not None and low < (1500 + 128) * 1000 * 1.25


def test_hls_form_validation(stack: Stack, clips: Clips) -> None:
    for variants in (
        "[]",
        '[{"resolution": null, "bitrate": 800}]',
        '[{"resolution": 480, "bitrate": 50}]',
        "{",
    ):
        response = submit(
            stack.compute_url, "hls_streaming", clips.short_av, data={"variants": variants}
        )
        assert response.status_code == 422, (variants, response.text)
    response = submit(stack.compute_url, "image_conversion", clips.short_av, data={"format": "svg"})
    assert response.status_code == 422


# --- bad input: each job fails on its own, the worker carries on ------------------------------


def test_bad_inputs_fail_readably(stack: Stack, clips: Clips, tmp_path: Path, images: Path) -> None:
    cases = [
        (
            "image_conversion",
            make_text_file(tmp_path / "notes.txt"),
            {"format": "png"},
            "not an image",
        ),
        (
            "image_conversion",
            make_truncated_jpeg(tmp_path / "cut.jpg"),
            {"format": "png"},
            "truncated",
        ),
        ("image_conversion", make_empty_file(tmp_path / "empty.jpg"), {"format": "png"}, "empty"),
        ("image_conversion", make_bomb_png(tmp_path / "bomb.png"), {"format": "jpg"}, "too large"),
        ("media_thumbnail", make_bomb_png(tmp_path / "bomb2.png"), {}, "too large"),
        ("media_thumbnail", make_text_file(tmp_path / "notes2.txt"), {}, "not an image"),
        ("media_thumbnail", clips.audio_only, {}, "no video stream"),
        ("hls_streaming", clips.audio_only, {}, "no video stream"),
        ("hls_streaming", make_empty_file(tmp_path / "empty.mp4"), {}, "video"),
        ("hls_streaming", make_text_file(tmp_path / "notes3.mp4"), {}, "video"),
    ]
    started = time.monotonic()
    job_ids = [submit_ok(stack.compute_url, task, path, data=form) for task, path, form, _ in cases]
    for job_id, (task, path, _form, expected) in zip(job_ids, cases, strict=True):
        job = wait_for_status(stack.compute_url, job_id, timeout=60)
        assert job["status"] == "failed", (task, path.name, job)
        assert job["task_output"] is None
        assert job["completed_at"] is not None
        message = job["error_message"]
        assert expected in message, (task, path.name, message)
        assert "Traceback" not in message
    assert time.monotonic() - started < 60
    # The same worker still serves good jobs afterwards.
    job = run_job(stack, "image_conversion", images / "alpha.png", format="webp")
    assert job["status"] == "completed", job


# --- long encodes end with their job ----------------------------------------------------------

SLOW_VARIANTS = '[{"resolution": 2160, "bitrate": 20000}]'  # 4K upscale: busy for many seconds


def wait_encoding(stack: Stack, job_id: str) -> list[int]:
    """Wait until the job reports progress (ffmpeg is running); return ffmpeg's pids."""

    def encoding() -> bool:
        job = get_job(stack.compute_url, job_id)
        assert job["status"] in ("queued", "processing"), job
        return job["progress"] >= 1

    wait_until(encoding, 60, f"job {job_id} never reported progress")
    pids = ffmpeg_pids_mentioning(job_id)
    assert pids, "no ffmpeg process found for the running job"
    return pids


def test_deleting_or_stopping_kills_ffmpeg(tmp_path: Path, clips: Clips) -> None:
    with running_stack(tmp_path, mode="no-auth", workers=1, tasks=["hls_streaming"]) as stack:
        # Deleting the job: the worker loses it at its next progress report and kills ffmpeg.
        job_id = submit_ok(
            stack.compute_url, "hls_streaming", clips.hd_10s, data={"variants": SLOW_VARIANTS}
        )
        wait_encoding(stack, job_id)
        response = httpx.delete(f"{stack.compute_url}/jobs/{job_id}", timeout=10)
        assert response.status_code == 204
        wait_until(lambda: not ffmpeg_pids_mentioning(job_id), 15, "ffmpeg outlived its job")
        job_dir = stack.data_dir / "compute" / "jobs" / job_id
        wait_until(lambda: not job_dir.exists(), 15, "the deleted job's files came back")

        # Stopping the worker (SIGTERM) while it encodes.
        job_id = submit_ok(
            stack.compute_url, "hls_streaming", clips.hd_10s, data={"variants": SLOW_VARIANTS}
        )
        wait_encoding(stack, job_id)
        stack.workers[0].terminate(timeout=30)
        assert not ffmpeg_pids_mentioning(job_id)


@pytest.mark.skipif(not orphan_guard(), reason="no parent-death guard here (needs Linux setpriv)")
def test_killed_worker_takes_ffmpeg_with_it(tmp_path: Path, clips: Clips) -> None:
    with running_stack(tmp_path, mode="no-auth", workers=1, tasks=["hls_streaming"]) as stack:
        job_id = submit_ok(
            stack.compute_url, "hls_streaming", clips.hd_10s, data={"variants": SLOW_VARIANTS}
        )
        wait_encoding(stack, job_id)
        stack.workers[0].kill()  # SIGKILL: the worker runs no cleanup of its own
        wait_until(lambda: not ffmpeg_pids_mentioning(job_id), 5, "ffmpeg outlived its worker")
