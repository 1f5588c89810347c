"""Hash one file as PROTOCOL §4.2 ``hash`` describes; no job or filesystem layout knowledge."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from cl_server.plugins.hash.digests import (
    Check,
    Progress,
    UnidentifiedImageFormatError,
    file_digest,
    image_pixel_digest,
    video_keyframe_digest,
)
from cl_server.plugins.hash.sniff import MediaType, pillow_format_signature, sniff_media_type

ResultAlgorithm = Literal["md5", "sha512_image", "sha512_video", "sha512_generic"]


@dataclass(frozen=True)
class HashResult:
    hash_value: str
    algorithm: ResultAlgorithm
    media_type: MediaType
    process_time: float
    """Seconds spent sniffing and hashing."""

    def to_json(self) -> dict[str, str | float]:
        return asdict(self)


def _noop() -> None:
    return None


def _no_progress(_fraction: float) -> None:
    return None


def compute_hash(
    path: Path,
    algorithm: Literal["sha512", "md5"],
    *,
    check: Check = _noop,
    progress: Progress = _no_progress,
    max_pixels: int | None = None,
) -> HashResult:
    """``md5`` hashes the bytes; ``sha512`` picks pixels, key frames or bytes by media type."""
    started = time.perf_counter()
    media_type = sniff_media_type(path)
    result_algorithm: ResultAlgorithm
    if algorithm == "md5":
        value, result_algorithm = file_digest(path, "md5", check=check, progress=progress), "md5"
    elif media_type == "image":
        try:
            value = image_pixel_digest(path, max_pixels=max_pixels, check=check, progress=progress)
            result_algorithm = "sha512_image"
        except UnidentifiedImageFormatError:
            # Formats Pillow has no decoder for (SVG, HEIC, camera RAW, ...) get the generic
            # byte hash; a format it does support whose header is broken is an error.
            if pillow_format_signature(path):
                raise
            value = file_digest(path, "sha512", check=check, progress=progress)
            result_algorithm = "sha512_generic"
    elif media_type == "video":
        value = video_keyframe_digest(path, check=check, progress=progress)
        result_algorithm = "sha512_video"
    else:
        value = file_digest(path, "sha512", check=check, progress=progress)
        result_algorithm = "sha512_generic"
    return HashResult(
        hash_value=value,
        algorithm=result_algorithm,
        media_type=media_type,
        process_time=time.perf_counter() - started,
    )
