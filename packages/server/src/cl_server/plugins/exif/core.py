"""Extract the metadata of PROTOCOL §4.2 ``exif`` from one file (no job knowledge).

EXIF comes from exifread; when it finds nothing it can parse, Pillow's reader is the fallback.
Parsers are attack surface, so the work is bounded: exifread reads at most ``read_limit`` bytes
(default 16 MiB, where every common format keeps its EXIF), maker notes and thumbnails are not
parsed, and Pillow reads the header and refuses to decode more than its pixel limit. The
decode (JPEG at 1/8 scale, which is cheap) proves that the image is complete: a truncated
JPEG fails with "not a readable image: ...".
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from cl_server.errors import PluginError
from cl_server.media.pixels import open_header, pixel_limit
from cl_server.plugins.exif.pillow_exif import pillow_exif_tags
from cl_server.plugins.exif.values import (
    JsonValue,
    Tags,
    exposure_field,
    float_field,
    gps_altitude,
    gps_coordinate,
    int_field,
    json_value,
    tag_matches,
    text_field,
)
from cl_server.plugins.hash.sniff import pillow_format_signature

logger = logging.getLogger(__name__)

READ_LIMIT_BYTES = 16 * 1024 * 1024

ExifOutput = dict[str, JsonValue | dict[str, JsonValue]]


def read_exif_tags(path: Path, read_limit: int = READ_LIMIT_BYTES) -> Tags:
    """All EXIF tags exifread finds in the first ``read_limit`` bytes ({} when none/unparsable)."""
    import exifread

    with path.open("rb") as stream:
        data = stream.read(read_limit)
    try:
        tags = exifread.process_file(
            io.BytesIO(data), details=False, extract_thumbnail=False, strict=False
        )
    except Exception as exc:  # a corrupt EXIF block must not fail an otherwise readable image
        logger.info("EXIF block of %s could not be parsed: %s", path.name, exc)
        return {}
    # process_file returns IfdTag objects (bytes only for thumbnails, which are not extracted).
    return cast(Tags, {k: v for k, v in tags.items() if not isinstance(v, bytes)})


def read_image(
    path: Path, *, max_pixels: int | None = None, with_exif: bool = False
) -> tuple[tuple[int, int], Tags] | None:
    """((width, height), Pillow's EXIF tags if asked) after a full bounded decode.

    None when Pillow does not know the format. Raises ``PluginError`` when the data is
    truncated or corrupt, or when the image is larger than the limit.
    """
    from PIL import Image, UnidentifiedImageError

    # Pillow's own error threshold (2 x MAX_IMAGE_PIXELS, ~179 MP) unless told otherwise.
    limit = pixel_limit() if max_pixels is None else max_pixels
    try:
        with open_header(path) as image:
            width, height = image.size
            if width * height > limit:
                raise PluginError(
                    f"image is too large to read: {width}x{height} pixels (limit {limit})"
                )
            exif: Tags = pillow_exif_tags(image) if with_exif else {}
            # JPEG: decode at reduced scale; every byte is still parsed, so truncation shows.
            image.draft(image.mode, (max(width // 8, 1), max(height // 8, 1)))
            image.load()
            return (width, height), exif
    except PluginError:
        raise
    except UnidentifiedImageError:
        return None
    except Image.DecompressionBombError as exc:
        raise PluginError(f"image is too large to read: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise PluginError(f"not a readable image: {exc}") from exc


def extract_metadata(
    path: Path,
    tags: Sequence[str] = (),
    *,
    read_limit: int = READ_LIMIT_BYTES,
    max_pixels: int | None = None,
) -> ExifOutput:
    """The task_output object: every PROTOCOL key, null when unknown, plus ``raw_metadata``.

    ``tags`` (names, case-insensitive) restricts ``raw_metadata``; see ``tag_matches``.
    """
    if path.stat().st_size == 0:
        raise PluginError("not a readable image: the file is empty")
    found = read_exif_tags(path, read_limit)
    image = read_image(path, max_pixels=max_pixels, with_exif=not found)
    size = image[0] if image is not None else None
    if not found and image is not None:
        found = image[1]  # exifread found nothing it could parse; Pillow may (e.g. HEIC)
    if size is None and (not found or pillow_format_signature(path)):
        # Either not an image at all, or e.g. a JPEG cut off before its frame header (its EXIF
        # block may survive, but the image does not). Formats Pillow cannot decode (HEIC, RAW)
        # still report the EXIF they carry.
        if found:
            raise PluginError("not a readable image: the image data is damaged or cut off")
        raise PluginError("not a readable image: the file is not in a known image format")
    width = int_field(found, "Image ImageWidth", "EXIF ExifImageWidth")
    height = int_field(found, "Image ImageLength", "EXIF ExifImageLength")
    if size is not None:
        width = width if width is not None else size[0]
        height = height if height is not None else size[1]

    wanted = frozenset(name.lower() for name in tags)
    raw: dict[str, JsonValue] = {
        key: json_value(tag)
        for key, tag in sorted(found.items())
        if not wanted or tag_matches(key, wanted)
    }
    return {
        "make": text_field(found, "Image Make"),
        "model": text_field(found, "Image Model"),
        "date_time_original": text_field(found, "EXIF DateTimeOriginal"),
        "create_date": text_field(found, "EXIF DateTimeDigitized"),
        "image_width": width,
        "image_height": height,
        "orientation": int_field(found, "Image Orientation"),
        "iso": int_field(found, "EXIF ISOSpeedRatings"),
        "f_number": float_field(found, "EXIF FNumber"),
        "focal_length": float_field(found, "EXIF FocalLength"),
        "gps_latitude": gps_coordinate(found, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S"),
        "gps_longitude": gps_coordinate(found, "GPS GPSLongitude", "GPS GPSLongitudeRef", "W"),
        "gps_altitude": gps_altitude(found),
        "exposure_time": exposure_field(found),
        "software": text_field(found, "Image Software"),
        "raw_metadata": raw,
    }
