"""Opening an image for a caller that enforces its own pixel limit (Pillow imported lazily)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.ImageFile import ImageFile


def pixel_limit() -> int:
    """Largest width * height decoded: Pillow's own decompression-bomb error threshold.

    Read at call time (2 x ``Image.MAX_IMAGE_PIXELS``, about 179 megapixels by default) so a
    deployment that changes Pillow's setting changes this too.
    """
    from PIL import Image

    return 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)


def open_header(path: Path) -> ImageFile:
    """``Image.open`` (reads the header only), silencing the decompression-bomb warning.

    Pillow warns between 1x and 2x its limit; the caller compares ``image.size`` with its own
    limit before decoding. Pillow's errors (unidentified, bomb, unreadable) propagate.
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)
