"""Convert one image to a target format: first frame, EXIF orientation applied, mode adapted to
what the target format can store, alpha flattened where it cannot, ICC profile kept.
"""

from __future__ import annotations

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
    return options


def convert_image(source: Path, destination: Path, image_format: str, quality: int) -> None:
    """Write ``source`` (any format Pillow/pillow-heif reads) to ``destination`` in the format."""
    pil_format = PIL_FORMAT[image_format]
    with open_image(source) as image:
        first_frame(image)
        picture = prepare_mode(load_oriented(image), pil_format)
        options = save_options(pil_format, quality, image)
        # ``save_all=False``: animated input keeps only its first frame.
        picture.save(destination, pil_format, **options)
