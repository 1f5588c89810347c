"""Small real media files for the media plugin tests, built with Pillow and pillow-heif."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageStat

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)


def two_colour_image(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue: rotations are visible in the result."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def make_oriented_jpeg(path: Path, size: tuple[int, int] = (60, 40), orientation: int = 6) -> Path:
    """Stored ``size`` with EXIF orientation; 6 means "rotate 90 degrees clockwise to display"."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    two_colour_image(size).save(path, "JPEG", quality=95, exif=exif)
    return path


def make_alpha_png(path: Path, size: tuple[int, int] = (40, 20)) -> Path:
    """Left half fully transparent, right half opaque green."""
    image = Image.new("RGBA", size, (*GREEN, 255))
    image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    image.save(path, "PNG")
    return path


def make_heic(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    two_colour_image(size).save(path, "HEIF", quality=90)
    return path


def make_animated_gif(path: Path, size: tuple[int, int] = (20, 20)) -> Path:
    frames = [Image.new("RGB", size, colour) for colour in (RED, GREEN, BLUE)]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def make_bomb_png(path: Path, side: int = 50_000) -> Path:
    """A valid PNG header claiming ``side`` x ``side`` pixels, with no pixel data at all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def make_truncated_jpeg(path: Path, size: tuple[int, int] = (256, 256)) -> Path:
    full = path.with_suffix(".full.jpg")
    Image.effect_noise(size, 60).convert("RGB").save(full, "JPEG", quality=90)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def make_text_file(path: Path) -> Path:
    path.write_text("this is a plain text file, not media\n" * 20)
    return path


def make_empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


BAD_IMAGES: list[tuple[Callable[[Path], Path], str]] = [
    (make_text_file, "not an image"),
    (make_empty_file, "empty"),
    (make_truncated_jpeg, "truncated"),
    (make_bomb_png, "too large"),
]
"""(maker, words the readable error must contain): inputs every image plugin must refuse."""


def mean_colour(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, float, float]:
    """Mean RGB of ``box`` (left, top, right, bottom)."""
    mean = ImageStat.Stat(image.convert("RGB").crop(box)).mean
    return (mean[0], mean[1], mean[2])


def is_close(
    colour: tuple[float, float, float], target: tuple[int, int, int], tol: float = 40
) -> bool:
    return all(abs(c - t) <= tol for c, t in zip(colour, target, strict=True))
