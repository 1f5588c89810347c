"""image_conversion: parameters, output naming, mode rules, and real conversions via the runner."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from cl_server.errors import PluginError
from cl_server.plugins.base import JobContext, PluginRunner
from cl_server.plugins.image_conversion.core import prepare_mode, save_options
from cl_server.plugins.image_conversion.spec import (
    ImageConversionParams,
    ImageConversionSpec,
    input_stem,
    output_extension,
)
from cl_server.plugins.registry import get_spec
from tests.unit.plugins.media_samples import (
    BAD_IMAGES,
    GREEN,
    RED,
    is_close,
    make_alpha_png,
    make_animated_gif,
    make_heic,
    make_oriented_jpeg,
    mean_colour,
    two_colour_image,
)

SPEC = ImageConversionSpec()
WHITE = (255, 255, 255)


@pytest.fixture(scope="module")
def runner() -> PluginRunner:
    return SPEC.load()


def convert(runner: PluginRunner, source: Path, tmp_path: Path, **form: str) -> Path:
    """Run one job as the worker would: params validated from form strings, output_path stored."""
    params = ImageConversionParams.model_validate(form)
    output_path = SPEC.output_path(params, source.name)
    stored = {**SPEC.stored_params(params), "input_path": f"input/{source.name}"}
    stored["output_path"] = output_path
    job_dir = tmp_path / "job"
    ctx = JobContext(job_id="j1", job_dir=job_dir, input_path=source, params=stored)
    assert runner.run(ctx) == {}
    out = job_dir / output_path
    assert out.is_file()
    return out


# --- parameters and naming -------------------------------------------------------------------


def test_registered() -> None:
    spec = get_spec("image_conversion")
    assert isinstance(spec, ImageConversionSpec)
    assert spec.requires_file


def test_format_is_required_and_restricted() -> None:
    with pytest.raises(ValidationError):
        ImageConversionParams.model_validate({})
    with pytest.raises(ValidationError):
        ImageConversionParams.model_validate({"format": "svg"})


@pytest.mark.parametrize("quality", ["0", "101", "-5", "abc"])
def test_quality_bounds(quality: str) -> None:
    with pytest.raises(ValidationError):
        ImageConversionParams.model_validate({"format": "jpg", "quality": quality})


def test_form_strings_coerce_and_default() -> None:
    params = ImageConversionParams.model_validate({"format": "webp", "quality": "42"})
    assert params.quality == 42
    assert ImageConversionParams.model_validate({"format": "png"}).quality == 85
    assert SPEC.stored_params(params) == {"format": "webp", "quality": 42}


@pytest.mark.parametrize(
    ("fmt", "filename", "expected"),
    [
        ("jpeg", "photo.HEIC", "output/converted_photo.jpg"),
        ("jpg", "photo.png", "output/converted_photo.jpg"),
        ("png", "my.holiday.pic.jpg", "output/converted_my.holiday.pic.png"),
        ("tiff", "noext", "output/converted_noext.tiff"),
        ("webp", "../../etc/x.png", "output/converted_x.webp"),
        ("gif", "C:\\Users\\me\\pic.bmp", "output/converted_pic.gif"),
    ],
)
def test_output_path(fmt: str, filename: str, expected: str) -> None:
    params = ImageConversionParams.model_validate({"format": fmt})
    assert SPEC.output_path(params, filename) == expected


def test_naming_helpers() -> None:
    assert output_extension("jpeg") == "jpg"
    assert output_extension("bmp") == "bmp"
    assert input_stem(None) == "image"
    assert input_stem("") == "image"


# --- mode rules (pure) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "pil_format", "expected"),
    [
        ("RGBA", "JPEG", "RGB"),
        ("LA", "JPEG", "RGB"),
        ("P", "JPEG", "RGB"),
        ("CMYK", "JPEG", "CMYK"),
        ("L", "JPEG", "L"),
        ("RGBA", "PNG", "RGBA"),
        ("CMYK", "PNG", "RGB"),
        ("RGBA", "WEBP", "RGBA"),
        ("L", "WEBP", "RGB"),
        ("LA", "WEBP", "RGBA"),
        ("RGB", "GIF", "RGB"),
        ("RGBA", "BMP", "RGBA"),
        ("LA", "BMP", "RGBA"),
        ("CMYK", "TIFF", "CMYK"),
        ("I;16", "JPEG", "RGB"),
        ("I;16", "WEBP", "RGB"),
    ],
)
def test_prepare_mode(mode: str, pil_format: str, expected: str) -> None:
    assert prepare_mode(Image.new(mode, (4, 4)), pil_format).mode == expected


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (2, 2), 32768)  # half of full scale
    value = prepare_mode(image, "JPEG").getpixel((0, 0))
    assert isinstance(value, tuple)
    assert 120 <= value[0] <= 136


def test_save_options() -> None:
    image = Image.new("RGB", (2, 2))
    assert save_options("JPEG", 30, image)["quality"] == 30
    assert save_options("WEBP", 55, image)["quality"] == 55
    assert save_options("PNG", 30, image)["optimize"] is True
    assert "quality" not in save_options("PNG", 30, image)
    image.info["icc_profile"] = b"fake-icc"
    assert save_options("JPEG", 80, image)["icc_profile"] == b"fake-icc"
    assert "icc_profile" not in save_options("GIF", 80, image)


# --- real conversions through the runner -----------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "pil_format"),
    [
        ("png", "PNG"),
        ("jpg", "JPEG"),
        ("jpeg", "JPEG"),
        ("webp", "WEBP"),
        ("gif", "GIF"),
        ("bmp", "BMP"),
        ("tiff", "TIFF"),
    ],
)
def test_every_target_format_decodes(
    runner: PluginRunner, tmp_path: Path, fmt: str, pil_format: str
) -> None:
    source = tmp_path / "in.png"
    two_colour_image((32, 16)).save(source)
    out = convert(runner, source, tmp_path, format=fmt)
    with Image.open(out) as result:
        assert result.format == pil_format
        assert result.size == (32, 16)
        assert is_close(mean_colour(result, (0, 0, 16, 16)), RED)


def test_exif_orientation_is_applied(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_oriented_jpeg(tmp_path / "rot.jpg", size=(60, 40), orientation=6)
    out = convert(runner, source, tmp_path, format="png")
    with Image.open(out) as result:
        assert result.size == (40, 60)  # rotated 90 degrees
        # Stored left half (red) is on top once rotated clockwise.
        assert is_close(mean_colour(result, (0, 0, 40, 30)), RED)
        assert result.getexif().get(0x0112, 1) == 1


def test_alpha_is_flattened_on_white_for_jpeg(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_alpha_png(tmp_path / "alpha.png", size=(40, 20))
    out = convert(runner, source, tmp_path, format="jpg")
    with Image.open(out) as result:
        assert result.mode == "RGB"
        assert is_close(mean_colour(result, (2, 2, 18, 18)), WHITE, tol=12)
        assert is_close(mean_colour(result, (22, 2, 38, 18)), GREEN)


def test_alpha_is_kept_for_png_and_webp(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_alpha_png(tmp_path / "alpha.png")
    for fmt in ("png", "webp"):
        with Image.open(convert(runner, source, tmp_path, format=fmt)) as result:
            assert result.mode == "RGBA"
            alpha = result.getchannel("A")
            assert alpha.getpixel((1, 1)) == 0
            assert alpha.getpixel((30, 10)) == 255


def test_quality_is_honoured(runner: PluginRunner, tmp_path: Path) -> None:
    source = tmp_path / "noise.png"
    Image.effect_noise((128, 128), 50).convert("RGB").save(source)
    low = convert(runner, source, tmp_path / "low", format="jpg", quality="10").stat().st_size
    high = convert(runner, source, tmp_path / "high", format="jpg", quality="95").stat().st_size
    assert low * 2 < high


def test_heic_input(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_heic(tmp_path / "photo.heic", size=(64, 48))
    out = convert(runner, source, tmp_path, format="jpeg")
    assert out.name == "converted_photo.jpg"
    with Image.open(out) as result:
        assert result.format == "JPEG"
        assert result.size == (64, 48)
        assert is_close(mean_colour(result, (4, 4, 28, 44)), RED, tol=50)


def test_animated_gif_keeps_first_frame(runner: PluginRunner, tmp_path: Path) -> None:
    source = make_animated_gif(tmp_path / "anim.gif")
    out = convert(runner, source, tmp_path, format="png")
    with Image.open(out) as result:
        assert getattr(result, "n_frames", 1) == 1
        assert is_close(mean_colour(result, (0, 0, 20, 20)), RED)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("maker", "message"), BAD_IMAGES)
def test_bad_input_fails_readably(
    runner: PluginRunner, tmp_path: Path, maker: object, message: str
) -> None:
    assert callable(maker)
    source = maker(tmp_path / "bad.jpg")
    assert isinstance(source, Path)
    started = time.monotonic()
    with pytest.raises(PluginError) as caught:
        convert(runner, source, tmp_path, format="png")
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert time.monotonic() - started < 5
