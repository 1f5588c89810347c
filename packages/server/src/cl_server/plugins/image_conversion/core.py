"""Convert one image to a target format: first frame, EXIF orientation applied, mode adapted to
what the target format can store, alpha flattened where it cannot, ICC profile and EXIF kept
(JPEG/WebP/PNG; orientation reset since the pixels are already upright).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from PIL import Image

from cl_server.media.images import (
    first_frame,
    has_alpha,
    load_oriented,
    open_image,
    to_8bit,
    to_rgb,
)

PIL_FORMAT = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "webp": "WEBP",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
}

# Modes each target stores as they are; anything else is converted by ``prepare_mode``.
_NATIVE_MODES: dict[str, frozenset[str]] = {
    "PNG": frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}),
    "JPEG": frozenset({"L", "RGB", "CMYK"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
    "GIF": frozenset({"1", "L", "P"}),
    "BMP": frozenset({"1", "L", "P", "RGB", "RGBA"}),
    "TIFF": frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16"}),
}


def prepare_mode(image: Image.Image, pil_format: str) -> Image.Image:
    """``image`` in a mode ``pil_format`` can store, keeping alpha where the format has it."""
    if image.mode in _NATIVE_MODES[pil_format]:
        return image
    if pil_format == "JPEG":
        return to_rgb(image)  # alpha flattened on white
    image = to_8bit(image)
    if pil_format == "GIF":
        # Pillow quantises RGB(A) to a 256-colour palette (with a transparent entry) on save.
        return image.convert("RGBA") if has_alpha(image) else image.convert("RGB")
    if image.mode in _NATIVE_MODES[pil_format]:
        return image
    return image.convert("RGBA") if has_alpha(image) else image.convert("RGB")


def save_options(pil_format: str, quality: int, image: Image.Image) -> dict[str, Any]:
    """Encoder options: quality for lossy formats, optimised PNG, compressed TIFF, ICC kept."""
    options: dict[str, Any] = {}
    if pil_format == "JPEG":
        options.update(quality=quality, optimize=True)
    elif pil_format == "WEBP":
        options.update(quality=quality, method=4)
    elif pil_format == "PNG":
        options.update(optimize=True)
    elif pil_format == "TIFF":
        options.update(compression="tiff_lzw")
    icc = image.info.get("icc_profile")
    if icc and pil_format in ("JPEG", "WEBP", "PNG", "TIFF"):
        options["icc_profile"] = icc
    exif = _exif_bytes(image)
    if exif and pil_format in ("JPEG", "WEBP", "PNG"):
        options["exif"] = exif
    return options


def _exif_bytes(image: Image.Image) -> bytes | None:
    """EXIF to carry over (orientation already applied and reset), or None if unreadable."""
    try:
        exif = image.getexif()
        return exif.tobytes() if len(exif) else None
    except (OSError, ValueError, SyntaxError, TypeError, struct.error):
        return None


def convert_image(source: Path, destination: Path, image_format: str, quality: int) -> None:
    """Write ``source`` (any format Pillow/pillow-heif reads) to ``destination`` in the format."""
    pil_format = PIL_FORMAT[image_format]
    with open_image(source) as image:
        first_frame(image)
        oriented = load_oriented(image)
        picture = prepare_mode(oriented, pil_format)
        options = save_options(pil_format, quality, oriented)
        # ``save_all=False``: animated input keeps only its first frame.
        picture.save(destination, pil_format, **options)
