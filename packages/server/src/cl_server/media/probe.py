"""Probing audio/video files with PyAV (FFmpeg's libraries in-process; no ffprobe needed)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from cl_server.errors import PluginError


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


def probe_media(path: Path) -> MediaInfo:
    """Container format, duration and the first video and audio stream of ``path``.

    Raises ``PluginError`` with a readable cause when FFmpeg cannot read the file.
    """
    import av  # lazy: keeps spec modules light

    try:
        with av.open(str(path), mode="r") as container:
            video = _video_info(container)
            audio = _audio_info(container)
            duration = _duration(container)
            return MediaInfo(
                format_name=container.format.name, duration_s=duration, video=video, audio=audio
            )
    except av.FFmpegError as exc:
        raise PluginError(f"not a readable audio/video file: {_reason(exc)}") from exc


def _video_info(container: av.container.InputContainer) -> VideoInfo | None:
    # Cover art is stored as a one-picture "video" stream; it is not a video.
    import av

    attached = av.stream.Disposition.attached_pic
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


def _audio_info(container: av.container.InputContainer) -> AudioInfo | None:
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    return AudioInfo(
        index=stream.index, codec=ctx.name, channels=ctx.channels, sample_rate=ctx.sample_rate
    )


def _duration(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000  # AV_TIME_BASE units
    for stream in container.streams:
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__
