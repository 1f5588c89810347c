"""Opening untrusted images with Pillow: HEIC/HEIF registered, size limits enforced before any
pixel is decoded, EXIF orientation applied, and library errors turned into readable messages.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from cl_server.errors import PluginError
from cl_server.media.pixels import open_header

MAX_PIXELS = 178_956_970
"""Largest image accepted (width x height), Pillow's own decompression-bomb error threshold
(2 x ``Image.MAX_IMAGE_PIXELS`` by default, about 179 megapixels: a 200 MP phone photo is above it).
The check reads only the header, so a file that claims 50 000 x 50 000 fails without decoding."""

WHITE = (255, 255, 255)

_EXIF_ORIENTATION = 0x0112
# Orientations 5..8 swap width and height when applied.
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})


class NotAnImageError(PluginError):
    """The file is not an image Pillow can identify (it may still be a video)."""


@cache
def register_image_plugins() -> None:
    """Teach Pillow HEIC/HEIF (pillow-heif). Pillow itself reads AVIF where built with libavif."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # optional at run time: HEIC files are then "unidentified"
        return
    register_heif_opener()


@contextmanager
def open_image(path: Path, *, max_pixels: int = MAX_PIXELS) -> Generator[ImageFile.ImageFile]:
    """Open ``path`` lazily (header only) and refuse it before decoding if it is too large.

    Decoding errors raised later inside the ``with`` block (truncated or corrupt data) become
    ``PluginError`` too.
    """
    register_image_plugins()
    try:
        image = open_header(path)  # the limit below decides, not Pillow's warning
    except Image.DecompressionBombError as exc:
        raise PluginError(_bomb_message(exc, max_pixels)) from exc
    except UnidentifiedImageError as exc:
        raise NotAnImageError(_unidentified_message(path)) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise PluginError(f"cannot read image: {_clean(exc)}") from exc
    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise PluginError(f"image has invalid dimensions {width}x{height}")
        if width * height > max_pixels:
            raise PluginError(
                f"image is {width}x{height} ({width * height / 1e6:.0f} megapixels), above the "
                f"{max_pixels / 1e6:.0f} megapixel limit"
            )
        try:
            yield image
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
            # Pillow reports truncated/corrupt data as OSError ("image file is truncated ...").
            raise PluginError(f"cannot decode image: {_clean(exc)}") from exc


def exif_orientation(image: Image.Image) -> int:
    """EXIF orientation 1..8 (1 when absent or invalid)."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError, TypeError):  # malformed EXIF: ignore it
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """Size as displayed, after the EXIF orientation is applied (read from the header only)."""
    width, height = image.size
    if exif_orientation(image) in _TRANSPOSING_ORIENTATIONS:
        return height, width
    return width, height


def unorient_size(image: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    """Map a displayed size back to stored (pre-orientation) axes, e.g. for ``draft``."""
    if exif_orientation(image) in _TRANSPOSING_ORIENTATIONS:
        return size[1], size[0]
    return size


def load_oriented(image: ImageFile.ImageFile) -> Image.Image:
    """Decode the current frame and apply its EXIF orientation."""
    image.load()
    # In place: no full-size copy of an image that needs no rotation.
    ImageOps.exif_transpose(image, in_place=True)
    return image


def first_frame(image: ImageFile.ImageFile) -> None:
    """Make sure the first frame of an animated image (GIF, APNG, WebP) is the current one."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)


def to_8bit(image: Image.Image) -> Image.Image:
    """16/32-bit integer and float images as 8-bit ``L`` (scaled, not clipped); others unchanged."""
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit samples (PNG/TIFF) arrive as I or I;16: map 0..65535 onto 0..255.
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode == "F":
        return image.convert("L")
    return image


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def to_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Any mode as ``RGB``; transparency is flattened onto ``background`` (JPEG has no alpha)."""
    image = to_8bit(image)
    if has_alpha(image):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _unidentified_message(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    if size == 0:
        return "file is empty (0 bytes), not an image"
    return "file is not an image in a supported format"


def _bomb_message(exc: Image.DecompressionBombError, max_pixels: int) -> str:
    # Pillow's message holds the claimed pixel count: "Image size (N pixels) exceeds limit ...".
    match = re.search(r"\((\d+) pixels\)", str(exc))
    claimed = f"{int(match.group(1)) / 1e6:.0f} megapixels" if match else "too many pixels"
    return (
        f"image is too large to process safely: its header claims {claimed}, above the "
        f"{max_pixels / 1e6:.0f} megapixel limit"
    )


def _clean(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
