"""The three SHA-512 flavours of PROTOCOL §4.2 plus MD5; pure functions over a path.

Each reads its input in bounded pieces and calls ``check`` between pieces so a deleted job or a
stopping worker interrupts long work (``check`` raises to stop).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from cl_server.errors import PluginError
from cl_server.media.pixels import open_header, pixel_limit

CHUNK_BYTES = 1024 * 1024
_STRIP_BYTES = 16 * 1024 * 1024
"""Pixel rows are hashed in strips of about this many bytes."""


class UnidentifiedImageFormatError(PluginError):
    """Pillow recognises no image format in the file (as opposed to a broken file it knows)."""


Check = Callable[[], None]
Progress = Callable[[float], None]
"""Receives the fraction of the work done, 0.0..1.0."""


def _noop() -> None:
    return None


def _no_progress(_fraction: float) -> None:
    return None


def file_digest(
    path: Path, algorithm: str, *, check: Check = _noop, progress: Progress = _no_progress
) -> str:
    """Hex digest (``sha512`` or ``md5``) of the file's bytes, streamed in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    total = max(path.stat().st_size, 1)
    done = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            done += len(chunk)
            progress(done / total)
            check()
    return digest.hexdigest()


def image_pixel_digest(
    path: Path,
    *,
    max_pixels: int | None = None,
    check: Check = _noop,
    progress: Progress = _no_progress,
    strip_bytes: int = _STRIP_BYTES,
) -> str:
    """SHA-512 of the decoded pixel buffer: ``Image.tobytes()`` of the first frame, stored mode.

    The header is read first and the decode is refused when width * height exceeds
    ``max_pixels`` (default ``pixel_limit()``), so a small file that claims gigapixels fails
    at once instead of exhausting memory. The buffer is hashed in horizontal strips, which
    gives the same digest as hashing ``tobytes()`` whole without a second full-size copy.
    Truncated or corrupt data raises ``PluginError`` ("not a readable image: ...").
    """
    from PIL import Image, UnidentifiedImageError

    limit = pixel_limit() if max_pixels is None else max_pixels
    try:
        with open_header(path) as image:
            width, height = image.size
            if width * height > limit:
                raise PluginError(
                    f"image is too large to decode: {width}x{height} pixels (limit {limit} pixels)"
                )
            image.load()
            digest = hashlib.sha512()
            rows = max(1, strip_bytes // max(1, width * len(image.getbands())))
            for top in range(0, height, rows):
                bottom = min(top + rows, height)
                # A strip that is the whole image is its buffer: no cropped copy of it.
                whole = top == 0 and bottom == height
                strip = image if whole else image.crop((0, top, width, bottom))
                digest.update(strip.tobytes())
                progress(bottom / height)
                check()
            return digest.hexdigest()
    except PluginError:
        raise
    except UnidentifiedImageError as exc:
        # Pillow's message names the server-side path; say what is wrong instead.
        raise UnidentifiedImageFormatError(
            "not a readable image: the image header is damaged or the format is unsupported"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise PluginError(f"image is too large to decode: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Pillow reports truncation as OSError, broken chunks as SyntaxError/ValueError.
        raise PluginError(f"not a readable image: {exc}") from exc


def video_keyframe_digest(
    path: Path, *, check: Check = _noop, progress: Progress = _no_progress
) -> str:
    """SHA-512 over the bytes of every key-frame packet of the first video stream, in order.

    Demuxing only (no decoding): cost is one pass over the file. The result ignores the
    container (remuxing MP4 → MKV keeps it) and audio, but changes when the video is re-encoded.
    """
    from av.error import FFmpegError

    from cl_server.media.probe import open_input

    digest = hashlib.sha512()
    keyframes = 0
    total = max(path.stat().st_size, 1)
    try:
        # Restricted demuxers: an uploaded playlist must not make FFmpeg open other files.
        with open_input(path) as container:
            if not container.streams.video:
                raise PluginError("not a readable video: the file has no video stream")
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    continue
                if packet.is_keyframe:
                    digest.update(bytes(packet))
                    keyframes += 1
                if packet.pos is not None and packet.pos >= 0:
                    progress(min(packet.pos / total, 1.0))
                check()
    except PluginError:
        raise
    except FFmpegError as exc:
        # strerror only: the full message repeats the server-side path.
        raise PluginError(f"not a readable video: {exc.strerror or type(exc).__name__}") from exc
    except (OSError, ValueError) as exc:
        raise PluginError(f"not a readable video: {exc}") from exc
    if keyframes == 0:
        raise PluginError("not a readable video: the video stream has no key frames")
    return digest.hexdigest()
