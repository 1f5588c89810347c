"""media_thumbnail: size rules, parameters, reduced JPEG decoding, and images via the runner.

Video mosaics need a real video file and live in tests/integration/media.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from cl_server.errors import PluginError
from cl_server.media.images import open_image
from cl_server.plugins.base import JobContext, PluginRunner
from cl_server.plugins.media_thumbnail.image_thumb import decode_reduced
from cl_server.plugins.media_thumbnail.sizing import (
    evenly_spaced_times,
    mosaic_tile_size,
    thumbnail_size,
)
from cl_server.plugins.media_thumbnail.spec import MediaThumbnailParams, MediaThumbnailSpec
from cl_server.plugins.registry import get_spec
from tests.unit.plugins.media_samples import (
    BAD_IMAGES,
    RED,
    is_close,
    make_alpha_png,
    make_heic,
    make_oriented_jpeg,
    mean_colour,
)

SPEC = MediaThumbnailSpec()


@pytest.fixture(scope="module")
def runner() -> PluginRunner:
    return SPEC.load()


def thumbnail(
    runner: PluginRunner, source: Path, tmp_path: Path, **form: str
) -> tuple[dict[str, object], Image.Image]:
    params = MediaThumbnailParams.model_validate(form)
    stored = {**SPEC.stored_params(params), "input_path": f"input/{source.name}"}
    stored["output_path"] = SPEC.output_path(params, source.name)
    job_dir = tmp_path / "job"
    ctx = JobContext(job_id="t1", job_dir=job_dir, input_path=source, params=stored)
    output = runner.run(ctx)
    with Image.open(job_dir / "output" / "thumbnail.jpg") as image:
        assert image.format == "JPEG"
        image.load()
        return output, image


# --- size rules (PROTOCOL §4.2) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "width", "height", "keep", "expected"),
    [
        ((1000, 500), None, None, True, (256, 128)),  # default 256x256 box
        ((500, 1000), None, None, True, (128, 256)),
        ((1000, 500), None, None, False, (256, 256)),
        ((1000, 500), 100, None, True, (100, 50)),  # other side from aspect
        ((1000, 500), None, 100, True, (200, 100)),
        ((1000, 500), 100, None, False, (100, 100)),  # equal when aspect not kept
        ((1000, 500), None, 40, False, (40, 40)),
        ((1000, 500), 300, 300, True, (300, 150)),  # fit inside the box
        ((1000, 500), 400, 100, True, (200, 100)),
        ((1000, 500), 300, 120, False, (300, 120)),  # exact
        ((100, 50), 400, 400, True, (100, 50)),  # never larger than the original
        ((100, 50), 400, None, True, (100, 50)),
        ((100, 50), 400, 300, False, (100, 50)),
        ((100, 50), 80, 300, False, (80, 50)),
        ((3000, 1), None, None, True, (256, 1)),  # at least one pixel
        ((200, 200), None, None, True, (200, 200)),
    ],
)
def test_thumbnail_size(
    source: tuple[int, int],
    width: int | None,
    height: int | None,
    keep: bool,
    expected: tuple[int, int],
) -> None:
    assert thumbnail_size(source, width, height, maintain_aspect_ratio=keep) == expected


def test_thumbnail_size_rejects_empty_source() -> None:
    with pytest.raises(ValueError):
        thumbnail_size((0, 10), None, None)


def test_mosaic_tiles_fit_the_box() -> None:
    # 1280x720 video: mosaic 5120x2880 fits a 256 box as 256x144, so tiles are 64x36.
    assert mosaic_tile_size((1280, 720), None, None) == (64, 36)
    assert mosaic_tile_size((1280, 720), 512, None) == (128, 72)
    assert mosaic_tile_size((1280, 720), 100, 100, maintain_aspect_ratio=False) == (25, 25)
    # A tiny video is not upscaled: 4 x 10 px wide at most.
    assert mosaic_tile_size((10, 8), 1000, 1000) == (10, 8)


def test_evenly_spaced_times() -> None:
    assert evenly_spaced_times(16.0, 4) == [2.0, 6.0, 10.0, 14.0]
    assert evenly_spaced_times(0.0, 2) == [0.0, 0.0]
    assert evenly_spaced_times(5.0, 0) == []


# --- parameters ------------------------------------------------------------------------------


def test_registered_and_output_path() -> None:
    assert isinstance(get_spec("media_thumbnail"), MediaThumbnailSpec)
    params = MediaThumbnailParams.model_validate({})
    assert SPEC.output_path(params, "a.png") == "output/thumbnail.jpg"
    assert SPEC.stored_params(params) == {
        "width": None,
        "height": None,
        "maintain_aspect_ratio": True,
    }


@pytest.mark.parametrize(("raw", "value"), [("false", False), ("OFF", False), ("1", True)])
def test_boolean_forms(raw: str, value: bool) -> None:
    params = MediaThumbnailParams.model_validate({"maintain_aspect_ratio": raw})
    assert params.maintain_aspect_ratio is value


@pytest.mark.parametrize("form", [{"width": "0"}, {"height": "-3"}, {"width": "wide"}])
def test_invalid_sizes(form: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        MediaThumbnailParams.model_validate(form)


# --- reduced decoding ------------------------------------------------------------------------


def test_large_jpeg_is_decoded_reduced(tmp_path: Path) -> None:
    source = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (90, 140, 200)).save(source, quality=80)
    with open_image(source) as image:
        decoded = decode_reduced(image, (256, 192))
    # 1/8 scale is the smallest JPEG scale still at least 256x192.
    assert decoded.size == (500, 375)


def test_reduced_decoding_respects_orientation(tmp_path: Path) -> None:
    source = make_oriented_jpeg(tmp_path / "rot.jpg", size=(1600, 800), orientation=6)
    with open_image(source) as image:
        decoded = decode_reduced(image, (150, 300))  # displayed target: portrait
    # Stored 1600x800: 1/8 (200x100) is below 300x150, so 1/4; the result is upright.
    assert decoded.size == (200, 400)


# --- images through the runner ---------------------------------------------------------------


def test_default_box_and_media_type(runner: PluginRunner, tmp_path: Path) -> None:
    source = tmp_path / "wide.png"
    Image.new("RGB", (1000, 500), RED).save(source)
    output, image = thumbnail(runner, source, tmp_path)
    assert output == {"media_type": "image"}
    assert image.size == (256, 128)
    assert is_close(mean_colour(image, (0, 0, 256, 128)), RED)


def test_requested_sizes(runner: PluginRunner, tmp_path: Path) -> None:
    source = tmp_path / "wide.jpg"
    Image.new("RGB", (1200, 600), RED).save(source)
    assert thumbnail(runner, source, tmp_path / "a", width="300")[1].size == (300, 150)
    exact = thumbnail(
        runner, source, tmp_path / "b", width="90", height="70", maintain_aspect_ratio="false"
    )
    assert exact[1].size == (90, 70)
    assert thumbnail(runner, source, tmp_path / "c", width="5000")[1].size == (1200, 600)


def test_orientation_applied(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_oriented_jpeg(tmp_path / "rot.jpg", size=(600, 400), orientation=6)
    _, image = thumbnail(runner, source, tmp_path, width="200")
    assert image.size == (200, 300)
    assert is_close(mean_colour(image, (0, 0, 200, 140)), RED)  # stored left half is now on top


def test_alpha_png_becomes_rgb_jpeg(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_alpha_png(tmp_path / "alpha.png", size=(400, 200))
    _, image = thumbnail(runner, source, tmp_path)
    assert image.mode == "RGB"
    assert image.size == (256, 128)
    assert is_close(mean_colour(image, (4, 4, 120, 124)), (255, 255, 255), tol=12)


def test_heic_input(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_heic(tmp_path / "photo.heic", size=(640, 480))
    output, image = thumbnail(runner, source, tmp_path)
    assert output == {"media_type": "image"}
    assert image.size == (256, 192)


@pytest.mark.parametrize(("maker", "message"), BAD_IMAGES)
def test_bad_input_fails_readably(
    runner: PluginRunner, tmp_path: Path, maker: object, message: str
) -> None:
    assert callable(maker)
    source = maker(tmp_path / "bad.bin")
    assert isinstance(source, Path)
    started = time.monotonic()
    with pytest.raises(PluginError) as caught:
        thumbnail(runner, source, tmp_path)
    assert message in str(caught.value)
    assert time.monotonic() - started < 5
