"""Real media files built in test setup (Pillow), so tests need no fixtures on disk."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def make_jpeg(
    path: Path, size: tuple[int, int] = (64, 48), *, exif: Image.Exif | None = None
) -> Path:
    image = Image.new("RGB", size)
    for x in range(size[0]):
        for y in range(size[1]):
            image.putpixel((x, y), ((x * 7) % 256, (y * 5) % 256, (x * y) % 256))
    image.save(path, "JPEG", quality=90, exif=exif if exif is not None else Image.Exif())
    return path


def camera_exif(make: str = "TestCam", model: str = "Model X") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make  # Make
    exif[0x0110] = model  # Model
    exif[0x0131] = "cl-tests"  # Software
    exif[0x0112] = 1  # Orientation
    return exif


def make_truncated_jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 30, 30)).save(buffer, "JPEG", exif=camera_exif())
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) // 3])
    return path


def make_large_png(path: Path, side: int = 6000) -> Path:
    """A big but tiny-on-disk PNG: decoding it takes real time, uploading it does not."""
    Image.new("RGB", (side, side), (10, 120, 200)).save(path, "PNG")
    return path
