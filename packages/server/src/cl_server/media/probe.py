"""Probing audio/video files with PyAV (FFmpeg's libraries in-process; no ffprobe needed).

Imported by media runners only (PyAV is heavy); plugin spec modules never import it.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

from av.container import InputContainer
from av.error import FFmpegError
from av.stream import Disposition

from cl_server.errors import PluginError

UNSAFE_DEMUXERS = frozenset(
    {
        # Playlists and manifests: they make FFmpeg open other local files or URLs named inside
        # the upload (an uploaded .m3u8 could read any file the worker can read).
        "hls",
        "applehttp",
        "dash",
        "webm_dash_manifest",
        "concat",
        "imf",
        "sdp",
        "rtp",
        "rtsp",
        "sap",
        "data",
        "subfile",
        "lavfi",
        "avisynth",
        "vapoursynth",
        # File-name patterns (``%d`` in an upload's name reads a sequence of files).
        "image2",
        # Text-art demuxers: they render any text file as "video".
        "tty",
        "bin",
        "xbin",
        "adf",
        "idf",
    }
)
"""Demuxers never used on uploads: everything else FFmpeg can read is allowed."""


@cache
def safe_demuxers() -> str:
    """Comma-separated ``format_whitelist``: every demuxer PyAV knows except the unsafe ones."""
    import av

    return ",".join(sorted(name for name in av.formats_available if name not in UNSAFE_DEMUXERS))


def safe_input_options() -> dict[str, str]:
    """Options for opening an upload: safe demuxers only, local files only (no network)."""
    return {"format_whitelist": safe_demuxers(), "protocol_whitelist": "file"}


def ffmpeg_input_args() -> list[str]:
    """The same restrictions as ffmpeg command-line input options (put before ``-i``)."""
    return [arg for key, value in safe_input_options().items() for arg in (f"-{key}", value)]


def open_input(path: Path) -> InputContainer:
    """Open an upload with PyAV under ``safe_input_options`` (raises ``FFmpegError``)."""
    import av

    return av.open(str(path), mode="r", options=safe_input_options())


@dataclass(frozen=True)
class VideoInfo:
    index: int
    """Absolute stream index in the container (``0:<index>`` in ffmpeg stream specifiers)."""
    codec: str
    width: int
    """Coded width in pixels (before sample aspect ratio and rotation)."""
    height: int
    sample_aspect_ratio: Fraction
    """Pixel aspect ratio; 1 for square pixels or when unknown."""
    frame_rate: float | None

    @property
    def display_aspect(self) -> float:
        """Width/height as shown (sample aspect applied, rotation not)."""
        return self.width * float(self.sample_aspect_ratio) / self.height


@dataclass(frozen=True)
class AudioInfo:
    index: int
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration_s: float | None
    video: VideoInfo | None
    audio: AudioInfo | None

    @property
    def is_still_image(self) -> bool:
        """A single picture read by an image demuxer (``jpeg_pipe``, ``png_pipe``, ...)."""
        return self.format_name.endswith("_pipe")


def probe_media(path: Path) -> MediaInfo:
    """Container format, duration and the first video and audio stream of ``path``.

    Raises ``PluginError`` with a readable cause when FFmpeg cannot read the file.
    """
    try:
        with open_input(path) as container:
            video = _video_info(container)
            audio = _audio_info(container)
            duration = _duration(container)
            return MediaInfo(
                format_name=container.format.name, duration_s=duration, video=video, audio=audio
            )
    except FFmpegError as exc:
        raise PluginError(f"not a readable audio/video file ({av_error_reason(exc)})") from exc


def _video_info(container: InputContainer) -> VideoInfo | None:
    # Cover art is stored as a one-picture "video" stream; it is not a video.
    attached = Disposition.attached_pic
    streams = [s for s in container.streams.video if not s.disposition & attached]
    if not streams:
        return None
    stream = streams[0]
    ctx = stream.codec_context
    if not ctx.width or not ctx.height:
        return None
    sar = stream.sample_aspect_ratio
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(
        index=stream.index,
        codec=ctx.name,
        width=ctx.width,
        height=ctx.height,
        sample_aspect_ratio=Fraction(sar) if sar and sar > 0 else Fraction(1),
        frame_rate=float(rate) if rate else None,
    )


def _audio_info(container: InputContainer) -> AudioInfo | None:
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    return AudioInfo(
        index=stream.index, codec=ctx.name, channels=ctx.channels, sample_rate=ctx.sample_rate
    )


def _duration(container: InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000  # AV_TIME_BASE units
    for stream in container.streams:
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return None


def av_error_reason(exc: FFmpegError) -> str:
    """FFmpeg's own sentence for an error, without errno numbers or file paths."""
    if exc.errno == errno.EINVAL:
        return "unrecognised or unsupported format"  # also what a refused demuxer yields
    text = exc.strerror or str(exc)
    return str(text).strip() or type(exc).__name__
