"""The shared ffmpeg helpers used by hls_streaming: locating ffmpeg and reading its output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cl_server.errors import PluginUnavailableError
from cl_server.media.ffmpeg import (
    FFMPEG_PATH_ENV,
    ffmpeg_exe,
    parse_progress_seconds,
    stderr_summary,
)
from cl_server.media.probe import ffmpeg_input_args, safe_demuxers
from cl_server.plugins.hls_streaming.command import SourceStreams, Variant, build_hls_args


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("out_time_us=2500000\n", 2.5),
        ("out_time_ms=1000000", 1.0),  # microseconds despite the name
        ("out_time_us=N/A", None),
        ("out_time=00:00:02.500000", None),
        ("progress=continue", None),
        ("garbage", None),
        ("out_time_us=-5", None),
    ],
)
def test_parse_progress(line: str, seconds: float | None) -> None:
    assert parse_progress_seconds(line) == seconds


def test_stderr_summary_keeps_the_end() -> None:
    text = "first\n\n  second  \nthird\nfourth\n"
    assert stderr_summary(text) == "second | third | fourth"
    long = "x" * 1000
    summary = stderr_summary(long, limit=50)
    assert summary.startswith("...")
    assert len(summary) == 53


def test_default_is_the_bundled_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FFMPEG_PATH_ENV, raising=False)
    exe = Path(ffmpeg_exe())
    assert exe.is_file()
    assert "imageio_ffmpeg" in str(exe)


def test_configured_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "my-ffmpeg"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(FFMPEG_PATH_ENV, str(fake))
    assert ffmpeg_exe() == str(fake)


def test_configured_ffmpeg_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(FFMPEG_PATH_ENV, os.fspath(tmp_path / "nope"))
    with pytest.raises(PluginUnavailableError, match=FFMPEG_PATH_ENV):
        ffmpeg_exe()


def test_upload_input_restrictions() -> None:
    # FFmpeg matches compound names ("mov,mp4,...") against this list name by name.
    allowed = safe_demuxers().split(",")
    for name in ("mov", "mp4", "matroska", "webm", "avi", "mpegts"):
        assert name in allowed
    for name in ("hls", "concat", "tty", "image2", "dash"):
        assert name not in allowed
    args = ffmpeg_input_args()
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[args.index("-format_whitelist") + 1] == safe_demuxers()


def test_input_options_go_before_input(tmp_path: Path) -> None:
    source = SourceStreams(video_index=0, video_codec="h264", audio_index=None)
    args = build_hls_args(
        Path("in.mp4"),
        tmp_path,
        [Variant(240, 300)],
        source,
        include_original=False,
        input_options=["-protocol_whitelist", "file"],
    )
    assert args[args.index("-i") - 2 : args.index("-i")] == ["-protocol_whitelist", "file"]
