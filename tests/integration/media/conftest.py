"""Real media for the media plugin integration tests, built once per session with the shipped
ffmpeg (imageio-ffmpeg), Pillow and pillow-heif; helpers to check HLS output with the m3u8 library
and ffmpeg itself."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import m3u8
import pytest

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True
    )


def make_clip(
    path: Path,
    *,
    seconds: float,
    size: str,
    audio: bool,
    gop: int | None = None,
    rate: int = 30,
) -> Path:
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if gop is not None:
        args += ["-g", str(gop)]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
    ffmpeg(*args, str(path))
    return path


@dataclass(frozen=True)
class Clips:
    hd_10s: Path
    """1280x720, 30 fps, 10 s, H.264 + AAC: the reference clip for HLS duration checks."""
    short_av: Path
    """320x240, 3 s, H.264 + AAC, a key frame every 0.5 s."""
    video_only: Path
    """320x240, 3 s, H.264, no audio."""
    audio_only: Path
    """2 s AAC in an .m4a: no video stream."""


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    root = tmp_path_factory.mktemp("clips")
    audio_only = root / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(audio_only))
    return Clips(
        hd_10s=make_clip(root / "hd.mp4", seconds=10, size="1280x720", audio=True),
        short_av=make_clip(root / "short.mp4", seconds=3, size="320x240", audio=True, gop=15),
        video_only=make_clip(root / "silent.mp4", seconds=3, size="320x240", audio=False, gop=15),
        audio_only=audio_only,
    )


def decode_errors(path: Path) -> str:
    """Decode every frame of ``path`` with ffmpeg; returns its error output ('' when clean)."""
    result = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stderr if result.returncode == 0 else f"exit {result.returncode}: {result.stderr}"


def load_playlist(path: Path) -> m3u8.M3U8:
    return m3u8.loads(path.read_text(), uri=str(path))


def segment_list(playlist: m3u8.M3U8) -> list[tuple[str, float]]:
    """(uri, duration) of each segment of a media playlist, checked to be present."""
    result: list[tuple[str, float]] = []
    for segment in playlist.segments:
        assert segment.uri is not None and segment.duration is not None
        result.append((segment.uri, float(segment.duration)))
    return result


def ffmpeg_pids_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (to prove ffmpeg was killed)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if text in cmdline and "ffmpeg" in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids
