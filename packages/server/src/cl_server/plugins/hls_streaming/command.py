"""The single ffmpeg command line that writes every rendition (pure; no process started).

One decode of the input feeds a ``split`` into one ``scale`` per variant, each encoded with x264 at
its bit rate; the hls muxer's ``-var_stream_map`` groups each video with its own AAC track into a
rendition and names files after it. Key frames are forced every 2 s (and GOP = 60 frames) so every
segment is exactly the 2 s target, and each segment starts with a key frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cl_server.plugins.hls_streaming.naming import (
    MASTER_PLAYLIST,
    ORIGINAL,
    PLAYLIST_PATTERN,
    SEGMENT_PATTERN,
    rendition_name,
)

SEGMENT_SECONDS = 2
KEYFRAME_INTERVAL = 60
AUDIO_BITRATE_KBPS = 128
X264_PRESET = "veryfast"
# Codecs the MPEG-TS segments can carry as they are; others are re-encoded.
TS_COPY_VIDEO = frozenset({"h264", "hevc"})
TS_COPY_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3"})
# Quality for an original that has to be re-encoded (its codec cannot go into MPEG-TS).
ORIGINAL_REENCODE_CRF = 18


@dataclass(frozen=True)
class Variant:
    resolution: int
    """Output height in pixels (even)."""
    bitrate_kbps: int

    @property
    def name(self) -> str:
        return rendition_name(self.resolution, self.bitrate_kbps)


@dataclass(frozen=True)
class SourceStreams:
    video_index: int
    video_codec: str
    audio_index: int | None
    """Absolute index of the audio stream to use; None when the input has no audio."""
    audio_codec: str | None = None


def scale_filter(height: int) -> str:
    """Scale to ``height`` with the display aspect ratio kept and an even width, square pixels.

    ``dar`` already includes the sample aspect ratio; ffmpeg's auto-rotation runs before this, so a
    portrait phone video is scaled as shown.
    """
    return f"scale=w='trunc(dar*{height}/2+0.5)*2':h={height},setsar=1"


def filter_graph(video_index: int, variants: Sequence[Variant]) -> str:
    outputs = "".join(f"[s{i}]" for i in range(len(variants)))
    chains = [f"[0:{video_index}]split={len(variants)}{outputs}"]
    chains += [f"[s{i}]{scale_filter(v.resolution)}[v{i}]" for i, v in enumerate(variants)]
    return ";".join(chains)


def build_hls_args(
    input_path: Path,
    output_dir: Path,
    variants: Sequence[Variant],
    source: SourceStreams,
    *,
    include_original: bool,
    input_options: Sequence[str] = (),
) -> list[str]:
    """Arguments after ``ffmpeg`` for one run producing every rendition in ``output_dir``.

    ``input_options`` go right before ``-i`` (the upload's demuxer/protocol restrictions).
    """
    if not variants:
        raise ValueError("at least one variant is required")
    args = ["-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats"]
    args += [*input_options, "-i", str(input_path)]
    args += ["-filter_complex", filter_graph(source.video_index, variants)]
    # Output video streams: one per variant, then the original.
    for i in range(len(variants)):
        args += ["-map", f"[v{i}]"]
    if include_original:
        args += ["-map", f"0:{source.video_index}"]
    # Output audio streams: one per rendition (a stream belongs to one rendition only).
    renditions = len(variants) + (1 if include_original else 0)
    if source.audio_index is not None:
        for _ in range(renditions):
            args += ["-map", f"0:{source.audio_index}"]
    for i, v in enumerate(variants):
        rate = f"{v.bitrate_kbps}k"
        args += [f"-c:v:{i}", "libx264", f"-b:v:{i}", rate, f"-maxrate:v:{i}", rate]
        args += [f"-bufsize:v:{i}", rate]
    if include_original:
        k = len(variants)
        if source.video_codec in TS_COPY_VIDEO:
            args += [f"-c:v:{k}", "copy"]
        else:
            args += [f"-c:v:{k}", "libx264", f"-crf:v:{k}", str(ORIGINAL_REENCODE_CRF)]
    args += ["-preset", X264_PRESET, "-pix_fmt", "yuv420p", "-g", str(KEYFRAME_INTERVAL)]
    args += ["-sc_threshold", "0"]
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
    if source.audio_index is not None:
        for i in range(len(variants)):
            args += [f"-c:a:{i}", "aac", f"-b:a:{i}", f"{AUDIO_BITRATE_KBPS}k"]
        if include_original:
            k = len(variants)
            if source.audio_codec in TS_COPY_AUDIO:
                args += [f"-c:a:{k}", "copy"]
            else:
                args += [f"-c:a:{k}", "aac", f"-b:a:{k}", f"{AUDIO_BITRATE_KBPS}k"]
    names = [v.name for v in variants] + ([ORIGINAL] if include_original else [])
    args += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod"]
    args += ["-hls_list_size", "0", "-hls_segment_type", "mpegts"]
    args += ["-hls_flags", "independent_segments"]
    # ffmpeg's master is rewritten afterwards (measured BANDWIDTH); it supplies CODECS strings.
    args += ["-master_pl_name", MASTER_PLAYLIST]
    args += ["-hls_segment_filename", str(output_dir / SEGMENT_PATTERN)]
    args += ["-var_stream_map", var_stream_map(names, has_audio=source.audio_index is not None)]
    args += [str(output_dir / PLAYLIST_PATTERN)]
    return args


def var_stream_map(names: Sequence[str], *, has_audio: bool) -> str:
    """``v:i,a:i,name:<name>`` per rendition (video i paired with audio i)."""
    groups = []
    for i, name in enumerate(names):
        audio = f"a:{i}," if has_audio else ""
        groups.append(f"v:{i},{audio}name:{name}")
    return " ".join(groups)


def encode_timeout_s(duration_s: float | None, renditions: int) -> float:
    """A generous wall-clock bound for the run: far above any healthy encode, but finite.

    Unknown durations get six hours.
    """
    if duration_s is None or duration_s <= 0:
        return 6 * 3600.0
    return 300.0 + 20.0 * duration_s * max(1, renditions)
