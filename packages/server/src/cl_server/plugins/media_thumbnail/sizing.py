"""Thumbnail size rules of PROTOCOL §4.2 (pure arithmetic).

- neither width nor height: a 256x256 box;
- one given: the other follows the aspect ratio (or equals it when aspect is not kept);
- both: fit inside the box keeping aspect (or exactly that size when aspect is not kept);
- never larger than the source, in either dimension.
"""

from __future__ import annotations

DEFAULT_BOX = 256


def thumbnail_size(
    source: tuple[int, int],
    width: int | None,
    height: int | None,
    *,
    maintain_aspect_ratio: bool = True,
) -> tuple[int, int]:
    """Output (width, height) for a source of ``source`` pixels (as displayed)."""
    src_w, src_h = source
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"invalid source size {src_w}x{src_h}")
    if width is None and height is None:
        width = height = DEFAULT_BOX
    if not maintain_aspect_ratio:
        # A missing side equals the given one (a square), as the protocol says.
        box_w = width if width is not None else height
        box_h = height if height is not None else width
        assert box_w is not None and box_h is not None
        return min(box_w, src_w), min(box_h, src_h)
    # Keep aspect: the largest scale that fits every given bound, never above 1 (no upscaling).
    scales = [1.0]
    if width is not None:
        scales.append(width / src_w)
    if height is not None:
        scales.append(height / src_h)
    scale = min(scales)
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))


MOSAIC_GRID = 4
"""Video thumbnails are a MOSAIC_GRID x MOSAIC_GRID mosaic of key frames."""


def mosaic_tile_size(
    video_size: tuple[int, int],
    width: int | None,
    height: int | None,
    *,
    maintain_aspect_ratio: bool = True,
) -> tuple[int, int]:
    """Size of one tile so that the whole mosaic obeys the same rules as an image thumbnail.

    The mosaic's natural size is the grid times the video frame; the tile is the resulting
    thumbnail size divided by the grid (at least 1 pixel).
    """
    grid_w, grid_h = video_size[0] * MOSAIC_GRID, video_size[1] * MOSAIC_GRID
    out_w, out_h = thumbnail_size(
        (grid_w, grid_h), width, height, maintain_aspect_ratio=maintain_aspect_ratio
    )
    return max(1, out_w // MOSAIC_GRID), max(1, out_h // MOSAIC_GRID)


def evenly_spaced_times(duration_s: float, count: int) -> list[float]:
    """``count`` sample times spread over the video: the centres of ``count`` equal slices."""
    if count <= 0:
        return []
    if duration_s <= 0:
        return [0.0] * count
    step = duration_s / count
    return [step * (i + 0.5) for i in range(count)]
