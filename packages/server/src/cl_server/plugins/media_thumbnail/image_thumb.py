"""Image thumbnails: decode as small as the format allows, orient, resize (Lanczos), JPEG."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFile

from cl_server.media.images import (
    first_frame,
    load_oriented,
    open_image,
    oriented_size,
    to_rgb,
    unorient_size,
)
from cl_server.plugins.media_thumbnail.sizing import thumbnail_size

JPEG_QUALITY = 85
# Resize in two steps (integer ``reduce`` then Lanczos) when shrinking by more than this factor:
# much faster on big photos and indistinguishable at thumbnail size.
_REDUCING_GAP = 3.0


def decode_reduced(image: ImageFile.ImageFile, target: tuple[int, int]) -> Image.Image:
    """Decode ``image`` upright in RGB, no larger than needed for ``target`` (displayed size).

    JPEG decodes straight to 1/2, 1/4 or 1/8 scale (the smallest not below the target), so a
    24-megapixel photo is never decoded at full size; other formats decode at full size.
    """
    image.draft("RGB", unorient_size(image, target))
    return to_rgb(load_oriented(image))


def make_image_thumbnail(
    source: Path,
    destination: Path,
    width: int | None,
    height: int | None,
    *,
    maintain_aspect_ratio: bool = True,
) -> tuple[int, int]:
    """Write a JPEG thumbnail of the image at ``source``; returns its size."""
    with open_image(source) as image:
        first_frame(image)
        target = thumbnail_size(
            oriented_size(image), width, height, maintain_aspect_ratio=maintain_aspect_ratio
        )
        picture = decode_reduced(image, target)
        if picture.size != target:
            picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        picture.save(destination, "JPEG", quality=JPEG_QUALITY)
        return picture.size
