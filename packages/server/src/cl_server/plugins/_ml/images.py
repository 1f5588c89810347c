"""Reading untrusted images into RGB pixels with readable failures, and encoder preprocessing."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from cl_server.errors import PluginError
from cl_server.media.images import register_image_plugins
from cl_server.models.registry import ImageContract

MAX_PIXELS = 100_000_000
"""Refuse larger images before decoding them (a decompression bomb or a mistake)."""

FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def open_rgb(path: Path, *, draft_size: int | None = None) -> Image.Image:
    """Decode ``path`` as an RGB image (EXIF orientation applied) or raise ``PluginError``.

    ``draft_size`` lets JPEG decode at a reduced scale no smaller than that many pixels per side,
    which is much faster for encoders that shrink the image anyway.
    """
    register_image_plugins()  # HEIC/HEIF from phones, also in workers that load no media plugin
    try:
        with warnings.catch_warnings():
            # Pillow warns (and our tests turn warnings into errors) for large images; we check
            # the size ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise PluginError(
                        f"image is too large: {width}x{height} pixels (limit {MAX_PIXELS:,} pixels)"
                    )
                if draft_size is not None:
                    img.draft("RGB", (draft_size, draft_size))
                img.load()
                # convert() returns a new image, so nothing refers to the closed file.
                return ImageOps.exif_transpose(img).convert("RGB")
    except PluginError:
        raise
    except UnidentifiedImageError:
        raise PluginError("input is not an image in a format this server can read") from None
    except Image.DecompressionBombError:
        raise PluginError(f"image is too large (limit {MAX_PIXELS:,} pixels)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PluginError(f"image could not be decoded (truncated or corrupt): {exc}") from None


def encoder_input(img: Image.Image, contract: ImageContract) -> FloatArray:
    """``[3, size, size] float32``: resize to the model's size, scale to [0,1], mean/std."""
    resized = img.resize((contract.size, contract.size), _RESAMPLE[contract.resample])
    pixels = np.asarray(resized, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(contract.mean, dtype=np.float32)
    std = np.asarray(contract.std, dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1), dtype=np.float32)


def laplacian_variance(img: Image.Image) -> float:
    """Variance of the 3x3 Laplacian (4-neighbour kernel) of the grayscale image, 0..255 scale."""
    gray = np.asarray(img.convert("L"), dtype=np.float64)
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    lap = (
        gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4.0 * gray[1:-1, 1:-1]
    )
    return float(lap.var())
