"""The media plugins' runners on real video made with the shipped ffmpeg (no services).

The thorough HLS checks on the 10 s 720p clip run through the real stack (test_media_stack.py);
these cover video thumbnails, video-only input, bad input, cancellation and time limits.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from cl_server.errors import JobCancelledError, PluginError
from cl_server.media.ffmpeg import run_ffmpeg
from cl_server.media.probe import probe_media
from cl_server.plugins.base import JobContext, PluginRunner
from cl_server.plugins.hls_streaming.spec import HlsStreamingParams, HlsStreamingSpec
from cl_server.plugins.media_thumbnail.spec import MediaThumbnailParams, MediaThumbnailSpec
from tests.integration.media.conftest import (
    Clips,
    decode_errors,
    ffmpeg,
    ffmpeg_pids_mentioning,
    load_playlist,
    segment_list,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hls() -> PluginRunner:
    return HlsStreamingSpec().load()


@pytest.fixture(scope="module")
def thumbs() -> PluginRunner:
    return MediaThumbnailSpec().load()


def context(
    tmp_path: Path,
    source: Path,
    params: dict[str, object],
    progress: list[int] | None = None,
    cancelled: threading.Event | None = None,
) -> JobContext:
    return JobContext(
        job_id="job",
        job_dir=tmp_path / "job",
        input_path=source,
        params={**params, "input_path": f"input/{source.name}"},
        report_progress=(progress.append if progress is not None else lambda _p: None),
        cancelled=cancelled or threading.Event(),
    )


def hls_params(variants: str, include_original: bool = False) -> dict[str, object]:
    spec = HlsStreamingSpec()
    parsed = HlsStreamingParams.model_validate(
        {"variants": variants, "include_original": include_original}
    )
    return spec.stored_params(parsed)


# --- video thumbnails ------------------------------------------------------------------------


def tiles(image: Image.Image, grid: int = 4) -> list[Image.Image]:
    w, h = image.width // grid, image.height // grid
    return [
        image.crop((c * w, r * h, (c + 1) * w, (r + 1) * h))
        for r in range(grid)
        for c in range(grid)
    ]


def test_video_thumbnail_is_a_key_frame_mosaic(
    thumbs: PluginRunner, clips: Clips, tmp_path: Path
) -> None:
    params = MediaThumbnailSpec().stored_params(MediaThumbnailParams())
    ctx = context(tmp_path, clips.short_av, params)
    assert thumbs.run(ctx) == {"media_type": "video"}
    with Image.open(ctx.job_dir / "output" / "thumbnail.jpg") as image:
        assert image.format == "JPEG"
        # 320x240 video: the 1280x960 mosaic fits the default 256 box as 256x192.
        assert image.size == (256, 192)
        parts = tiles(image.convert("RGB"))
    # testsrc moves over time: tiles from different key frames differ.
    first, last = parts[0], parts[-1]
    assert max(ImageStat.Stat(ImageChops.difference(first, last)).mean) > 2


def test_video_thumbnail_box_and_video_only(
    thumbs: PluginRunner, clips: Clips, tmp_path: Path
) -> None:
    params = MediaThumbnailSpec().stored_params(
        MediaThumbnailParams(width=200, height=200, maintain_aspect_ratio=False)
    )
    ctx = context(tmp_path, clips.video_only, params)
    assert thumbs.run(ctx) == {"media_type": "video"}
    with Image.open(ctx.job_dir / "output" / "thumbnail.jpg") as image:
        assert image.size == (200, 200)


def test_video_thumbnail_honours_rotation(
    thumbs: PluginRunner, clips: Clips, tmp_path: Path
) -> None:
    rotated = tmp_path / "portrait.mp4"
    # Display-matrix rotation, as phones record portrait video.
    ffmpeg("-display_rotation", "90", "-i", str(clips.short_av), "-c", "copy", str(rotated))
    ctx = context(tmp_path, rotated, {})
    assert thumbs.run(ctx) == {"media_type": "video"}
    with Image.open(ctx.job_dir / "output" / "thumbnail.jpg") as image:
        assert image.size == (192, 256)  # 240x320 as displayed
        first_tile = tiles(image.convert("RGB"))[0]
    # ffmpeg's own auto-rotated first frame is the reference; upside down must differ more.
    reference = tmp_path / "first.png"
    ffmpeg("-i", str(rotated), "-frames:v", "1", "-vf", "scale=48:64", str(reference))
    with Image.open(reference) as ref:
        upright = ref.convert("RGB")
    flipped = upright.rotate(180)

    def difference(a: Image.Image, b: Image.Image) -> float:
        return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean)

    assert difference(first_tile, upright) * 2 < difference(first_tile, flipped)


def test_audio_only_has_no_thumbnail(thumbs: PluginRunner, clips: Clips, tmp_path: Path) -> None:
    ctx = context(tmp_path, clips.audio_only, {})
    with pytest.raises(PluginError, match="no video stream"):
        thumbs.run(ctx)


# --- HLS on short clips ----------------------------------------------------------------------


def test_hls_video_only_has_no_audio(hls: PluginRunner, clips: Clips, tmp_path: Path) -> None:
    progress: list[int] = []
    ctx = context(
        tmp_path, clips.video_only, hls_params('[{"resolution":240,"bitrate":300}]'), progress
    )
    output = hls.run(ctx)
    assert output == {
        "master_playlist": "output/adaptive.m3u8",
        "variants_generated": 1,
        "total_segments": 2,  # 3 s in 2 s segments
        "include_original": False,
    }
    out = ctx.job_dir / "output"
    master = load_playlist(out / "adaptive.m3u8")
    assert [p.uri for p in master.playlists] == ["adaptive-240p-300.m3u8"]
    assert master.playlists[0].stream_info.resolution == (320, 240)
    segments = segment_list(load_playlist(out / "adaptive-240p-300.m3u8"))
    assert [uri for uri, _ in segments] == ["adaptive-240p-300-000.ts", "adaptive-240p-300-001.ts"]
    assert sum(d for _, d in segments) == pytest.approx(3.0, abs=0.5)
    for uri, _ in segments:
        assert decode_errors(out / uri) == ""
        info = probe_media(out / uri)
        assert info.video is not None
        assert info.audio is None
    assert progress
    assert all(1 <= p <= 99 for p in progress)
    assert progress == sorted(progress)


def test_hls_retry_replaces_earlier_output(hls: PluginRunner, clips: Clips, tmp_path: Path) -> None:
    out = tmp_path / "job" / "output"
    out.mkdir(parents=True)
    (out / "adaptive-240p-300-009.ts").write_bytes(b"stale")
    ctx = context(tmp_path, clips.video_only, hls_params('[{"resolution":240,"bitrate":300}]'))
    hls.run(ctx)
    assert not (out / "adaptive-240p-300-009.ts").exists()


@pytest.mark.parametrize("kind", ["audio_only", "text", "empty"])
def test_hls_bad_input(hls: PluginRunner, clips: Clips, tmp_path: Path, kind: str) -> None:
    if kind == "audio_only":
        source = clips.audio_only
    elif kind == "text":
        source = tmp_path / "notes.mp4"
        source.write_text("not a video\n" * 50)
    else:
        source = tmp_path / "empty.mp4"
        source.write_bytes(b"")
    started = time.monotonic()
    with pytest.raises(PluginError) as caught:
        hls.run(context(tmp_path, source, hls_params('[{"resolution":240,"bitrate":300}]')))
    message = str(caught.value)
    assert "video" in message
    assert "Errno" not in message
    assert time.monotonic() - started < 10


# --- process control -------------------------------------------------------------------------


def test_cancel_kills_ffmpeg(hls: PluginRunner, clips: Clips, tmp_path: Path) -> None:
    cancelled = threading.Event()
    progress: list[int] = []

    def on_progress(percent: int) -> None:
        progress.append(percent)
        cancelled.set()  # cancel as soon as ffmpeg is demonstrably encoding

    # Upscaling to 2160p keeps ffmpeg busy far longer than the cancel takes.
    params = hls_params('[{"resolution":2160,"bitrate":20000}]')
    ctx = JobContext(
        job_id="cancel-me",
        job_dir=tmp_path / "job",
        input_path=clips.short_av,
        params=params,
        report_progress=on_progress,
        cancelled=cancelled,
    )
    started = time.monotonic()
    with pytest.raises(JobCancelledError):
        hls.run(ctx)
    assert progress
    assert time.monotonic() - started < 30
    assert ffmpeg_pids_mentioning(str(tmp_path / "job")) == []


def endless_args() -> list[str]:
    return [
        "-progress",
        "pipe:1",
        "-f",
        "lavfi",
        "-re",
        "-i",
        "testsrc=size=64x64:rate=10",
        "-f",
        "null",
        "-",
    ]


def test_time_limit_kills_ffmpeg() -> None:
    started = time.monotonic()
    with pytest.raises(PluginError, match="longer than"):
        run_ffmpeg(endless_args(), cancelled=threading.Event(), timeout_s=1.0, what="endless")
    assert time.monotonic() - started < 10
    assert ffmpeg_pids_mentioning("testsrc=size=64x64:rate=10") == []


def test_interrupted_runner_kills_ffmpeg() -> None:
    class WorkerStoppingError(Exception):
        pass

    def interrupt(_seconds: float) -> None:
        raise WorkerStoppingError  # e.g. the worker thread is being torn down

    with pytest.raises(WorkerStoppingError):
        run_ffmpeg(endless_args(), cancelled=threading.Event(), timeout_s=60, on_progress=interrupt)
    assert ffmpeg_pids_mentioning("testsrc=size=64x64:rate=10") == []


def test_ffmpeg_failure_is_readable(tmp_path: Path) -> None:
    with pytest.raises(PluginError) as caught:
        run_ffmpeg(
            ["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"],
            cancelled=threading.Event(),
            timeout_s=30,
            what="probe",
        )
    message = str(caught.value)
    assert message.startswith("probe failed (ffmpeg exit")
    assert "No such file" in message


# --- uploads that point elsewhere ------------------------------------------------------------


@pytest.mark.parametrize("task", ["hls_streaming", "media_thumbnail"])
def test_uploaded_playlist_cannot_read_other_files(
    hls: PluginRunner, thumbs: PluginRunner, clips: Clips, tmp_path: Path, task: str
) -> None:
    # A playlist naming a real local video: FFmpeg's hls demuxer would happily read it.
    playlist = tmp_path / "upload.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{clips.short_av}\n#EXT-X-ENDLIST\n"
    )
    runner = hls if task == "hls_streaming" else thumbs
    with pytest.raises(PluginError, match="unsupported format"):
        runner.run(context(tmp_path, playlist, {}))
    assert not (tmp_path / "job" / "output" / "thumbnail.jpg").exists()


def test_text_is_not_rendered_as_video(thumbs: PluginRunner, tmp_path: Path) -> None:
    # FFmpeg's "tty" demuxer would render a .txt file as ANSI-art video.
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text\n" * 40)
    with pytest.raises(PluginError, match="not an image"):
        thumbs.run(context(tmp_path, notes, {}))
