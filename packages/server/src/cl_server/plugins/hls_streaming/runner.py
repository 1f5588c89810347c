"""hls_streaming runner: probe, one supervised ffmpeg run, then check files and write the master."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cl_server.errors import PluginError
from cl_server.media.ffmpeg import run_ffmpeg
from cl_server.media.probe import ffmpeg_input_args, probe_media
from cl_server.plugins.base import JobContext, SingleJobRunner, TaskOutput
from cl_server.plugins.hls_streaming.command import (
    SourceStreams,
    Variant,
    build_hls_args,
    encode_timeout_s,
)
from cl_server.plugins.hls_streaming.naming import (
    MASTER_PLAYLIST,
    ORIGINAL,
    is_output_file,
    playlist_name,
)
from cl_server.plugins.hls_streaming.playlists import (
    MediaPlaylist,
    StreamInf,
    average_bit_rate,
    codecs_by_uri,
    master_playlist,
    parse_media_playlist,
    peak_bit_rate,
)
from cl_server.plugins.hls_streaming.spec import HlsStreamingParams

OUTPUT_DIR = "output"


class HlsStreamingRunner(SingleJobRunner):
    def run(self, ctx: JobContext) -> TaskOutput:
        params = HlsStreamingParams.model_validate(dict(ctx.params))
        source = ctx.require_input()
        info = probe_media(source)
        if info.video is None:
            raise PluginError("input has no video stream (audio-only or not a video)")
        if info.is_still_image:
            raise PluginError(f"input is a still image ({info.format_name}), not a video")
        variants = [Variant(v.resolution, v.bitrate) for v in params.variants]
        names = [v.name for v in variants] + ([ORIGINAL] if params.include_original else [])
        out_dir = ctx.job_dir / OUTPUT_DIR
        out_dir.mkdir(parents=True, exist_ok=True)
        _clear_previous_attempt(out_dir)

        streams = SourceStreams(
            video_index=info.video.index,
            video_codec=info.video.codec,
            audio_index=info.audio.index if info.audio else None,
            audio_codec=info.audio.codec if info.audio else None,
        )
        args = build_hls_args(
            source,
            out_dir,
            variants,
            streams,
            include_original=params.include_original,
            input_options=ffmpeg_input_args(),
        )
        run_ffmpeg(
            args,
            cancelled=ctx.cancelled,
            timeout_s=encode_timeout_s(info.duration_s, len(names)),
            on_progress=ProgressReporter(ctx, info.duration_s),
            what="HLS encoding",
        )
        ctx.check_cancelled()

        master = out_dir / MASTER_PLAYLIST
        codecs = codecs_by_uri(master.read_text()) if master.exists() else {}
        renditions = [_measure(out_dir, name, codecs) for name in names]
        _write_atomically(master, master_playlist([r.stream_inf for r in renditions]))
        return {
            "master_playlist": f"{OUTPUT_DIR}/{MASTER_PLAYLIST}",
            "variants_generated": len(variants),
            "total_segments": sum(len(r.playlist.segments) for r in renditions),
            "include_original": params.include_original,
        }


class ProgressReporter:
    """Maps ffmpeg's media time onto job progress 1..99, reporting only changes."""

    def __init__(self, ctx: JobContext, duration_s: float | None) -> None:
        self._ctx = ctx
        self._duration = duration_s
        self._last = 0

    def __call__(self, media_time_s: float) -> None:
        if not self._duration or self._duration <= 0:
            return
        percent = min(99, max(1, 1 + int(98 * media_time_s / self._duration)))
        if percent > self._last:
            self._last = percent
            self._ctx.report_progress(percent)


@dataclass(frozen=True)
class _Rendition:
    stream_inf: StreamInf
    playlist: MediaPlaylist


def _measure(out_dir: Path, name: str, codecs: dict[str, str]) -> _Rendition:
    """Check one rendition's playlist and segments; measure its bit rates and frame size."""
    uri = playlist_name(name)
    path = out_dir / uri
    if not path.exists():
        raise PluginError(f"ffmpeg did not write {uri}")
    playlist = parse_media_playlist(path.read_text())
    if not playlist.segments:
        raise PluginError(f"{uri} has no segments (the video may be empty)")
    sizes: list[int] = []
    for segment in playlist.segments:
        segment_path = out_dir / segment.uri
        if not segment_path.is_file():
            raise PluginError(f"segment {segment.uri} listed in {uri} is missing")
        sizes.append(segment_path.stat().st_size)
    durations = [s.duration_s for s in playlist.segments]
    width, height = _frame_size(out_dir / playlist.segments[0].uri)
    return _Rendition(
        stream_inf=StreamInf(
            uri=uri,
            bandwidth=peak_bit_rate(sizes, durations, playlist.target_duration_s),
            average_bandwidth=average_bit_rate(sizes, durations),
            width=width,
            height=height,
            codecs=codecs.get(uri),
        ),
        playlist=playlist,
    )


def _frame_size(segment: Path) -> tuple[int, int]:
    info = probe_media(segment)
    if info.video is None:
        raise PluginError(f"segment {segment.name} has no video")
    return info.video.width, info.video.height


def _clear_previous_attempt(out_dir: Path) -> None:
    # A retried job must not list or keep segments of an earlier, longer attempt.
    for entry in out_dir.iterdir():
        if entry.is_file() and is_output_file(entry.name):
            entry.unlink()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
