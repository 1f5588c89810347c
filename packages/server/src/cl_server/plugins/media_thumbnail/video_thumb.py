"""Video thumbnails: a 4x4 mosaic of key frames spread over the video, decoded with PyAV.

Only key frames are decoded (``skip_frame=NONKEY``) and each tile is reached by seeking, so a long
video costs 16 seeks and 16 key-frame decodes, not a full decode.
"""

from __future__ import annotations

import threading
from pathlib import Path

from av.container import InputContainer
from av.error import FFmpegError
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from cl_server.errors import JobCancelledError, PluginError
from cl_server.media.probe import av_error_reason, open_input
from cl_server.plugins.media_thumbnail.image_thumb import JPEG_QUALITY
from cl_server.plugins.media_thumbnail.sizing import (
    MOSAIC_GRID,
    evenly_spaced_times,
    mosaic_tile_size,
)

# Reading this many packets after a seek without meeting a decodable key frame means the file
# is broken (or a single GOP is enormous); stop instead of reading the whole file.
_MAX_PACKETS_PER_TILE = 3000
_MAX_FRAME_SIDE = 16384


def make_video_mosaic(
    source: Path,
    destination: Path,
    width: int | None,
    height: int | None,
    *,
    maintain_aspect_ratio: bool = True,
    cancelled: threading.Event | None = None,
) -> tuple[int, int]:
    """Write the key-frame mosaic of the video at ``source`` as JPEG; returns its size."""
    try:
        with open_input(source) as container:
            stream = _video_stream(container)
            frames = _key_frames(container, stream, MOSAIC_GRID * MOSAIC_GRID, cancelled)
            first = frames[0]
            tile = mosaic_tile_size(
                _display_size(first, stream),
                width,
                height,
                maintain_aspect_ratio=maintain_aspect_ratio,
            )
            tiles = [_to_tile(frame, tile) for frame in frames]
    except FFmpegError as exc:
        raise PluginError(f"cannot read video ({av_error_reason(exc)})") from exc
    mosaic = Image.new("RGB", (tile[0] * MOSAIC_GRID, tile[1] * MOSAIC_GRID))
    for index, picture in enumerate(tiles):
        row, col = divmod(index, MOSAIC_GRID)
        mosaic.paste(picture, (col * tile[0], row * tile[1]))
    mosaic.save(destination, "JPEG", quality=JPEG_QUALITY)
    return mosaic.size


def _video_stream(container: InputContainer) -> VideoStream:
    attached = Disposition.attached_pic
    for stream in container.streams.video:
        if not stream.disposition & attached:
            ctx = stream.codec_context
            if ctx.width > _MAX_FRAME_SIDE or ctx.height > _MAX_FRAME_SIDE:
                raise PluginError(f"video frames of {ctx.width}x{ctx.height} are too large")
            return stream
    raise PluginError("file has no video stream (audio-only or not a video)")


def _key_frames(
    container: InputContainer,
    stream: VideoStream,
    count: int,
    cancelled: threading.Event | None,
) -> list[VideoFrame]:
    """``count`` key frames at evenly spaced times (repeats when the video has fewer key frames)."""
    stream.codec_context.skip_frame = "NONKEY"
    duration = _duration_s(container, stream)
    frames: list[VideoFrame] = []
    if duration is not None and stream.time_base is not None:
        for t in evenly_spaced_times(duration, count):
            if cancelled is not None and cancelled.is_set():
                raise JobCancelledError("thumbnail stopped: the job was cancelled")
            start = stream.start_time or 0
            container.seek(start + int(t / stream.time_base), stream=stream, backward=True)
            frame = _next_frame(container, stream)
            if frame is not None:
                frames.append(frame)
    if not frames:
        # Unknown duration or unseekable input: take key frames from the start instead.
        container.seek(0)
        while len(frames) < count:
            frame = _next_frame(container, stream)
            if frame is None:
                break
            frames.append(frame)
    if not frames:
        raise PluginError("video has no decodable key frame")
    while len(frames) < count:  # fewer key frames than tiles: repeat the last one
        frames.append(frames[-1])
    return frames


def _next_frame(container: InputContainer, stream: VideoStream) -> VideoFrame | None:
    for packets_read, packet in enumerate(container.demux(stream), start=1):
        for frame in packet.decode():
            return frame
        if packets_read >= _MAX_PACKETS_PER_TILE:
            break
    return None


def _duration_s(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _display_size(frame: VideoFrame, stream: VideoStream) -> tuple[int, int]:
    """Frame size as shown: sample aspect ratio applied and rotation (90°/270°) swapped."""
    sar = stream.sample_aspect_ratio
    width = round(frame.width * float(sar)) if sar and sar > 0 else frame.width
    height = frame.height
    if _quarter_turns(frame) % 2:
        width, height = height, width
    return max(1, width), max(1, height)


def _quarter_turns(frame: VideoFrame) -> int:
    # PyAV's rotation is the display matrix angle in degrees, counter-clockwise.
    return round(frame.rotation / 90) % 4


def _to_tile(frame: VideoFrame, tile: tuple[int, int]) -> Image.Image:
    turns = _quarter_turns(frame)
    size = (tile[1], tile[0]) if turns % 2 else tile
    picture = frame.to_image(width=size[0], height=size[1], interpolation="AREA")
    if turns:
        picture = picture.rotate(90 * turns, expand=True)
    return picture
