"""EXIF extraction on real images written by Pillow with known values."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from cl_server.errors import PluginError
from cl_server.plugins.exif.core import extract_metadata, read_exif_tags
from tests.unit.plugins.hash_exif_media import (
    RichExif,
    make_bomb_png,
    make_png,
    make_rich_exif_jpeg,
    make_truncated_jpeg,
)

PROTOCOL_KEYS = {
    "make",
    "model",
    "date_time_original",
    "create_date",
    "image_width",
    "image_height",
    "orientation",
    "iso",
    "f_number",
    "focal_length",
    "gps_latitude",
    "gps_longitude",
    "gps_altitude",
    "exposure_time",
    "software",
    "raw_metadata",
}


def _degrees(parts: tuple[Fraction, Fraction, Fraction]) -> float:
    return float(parts[0] + parts[1] / 60 + parts[2] / 3600)


def test_rich_jpeg_reports_every_value_written(tmp_path: Path) -> None:
    written = RichExif()
    result = extract_metadata(make_rich_exif_jpeg(tmp_path / "photo.jpg", written))

    assert set(result) == PROTOCOL_KEYS
    assert result["make"] == written.make
    assert result["model"] == written.model
    assert result["software"] == written.software
    assert result["date_time_original"] == written.date_time_original
    assert result["create_date"] == written.create_date
    assert result["orientation"] == written.orientation
    assert result["iso"] == written.iso
    assert result["f_number"] == pytest.approx(float(written.f_number))
    assert result["focal_length"] == pytest.approx(float(written.focal_length))
    assert result["exposure_time"] == "1/125"
    # EXIF dimensions win over the stored 64x48 (the fixture makes them differ on purpose).
    assert (result["image_width"], result["image_height"]) == (6720, 4480)
    # South and below sea level are negative, east is positive.
    assert result["gps_latitude"] == pytest.approx(-_degrees(written.latitude))
    assert result["gps_longitude"] == pytest.approx(_degrees(written.longitude))
    assert result["gps_altitude"] == pytest.approx(-12.5)
    for key in ("image_width", "image_height", "orientation", "iso"):
        assert type(result[key]) is int
    for key in ("f_number", "focal_length", "gps_latitude", "gps_longitude", "gps_altitude"):
        assert type(result[key]) is float


def test_raw_metadata_holds_all_tags_as_json_numbers(tmp_path: Path) -> None:
    result = extract_metadata(make_rich_exif_jpeg(tmp_path / "photo.jpg"))
    raw = result["raw_metadata"]
    assert isinstance(raw, dict)
    assert raw["Image Make"] == "Canon"
    assert raw["Image Orientation"] == 6  # the code, not "Rotated 90 CW"
    assert raw["EXIF ISOSpeedRatings"] == 400
    assert raw["EXIF FNumber"] == pytest.approx(2.8)
    assert raw["GPS GPSLatitude"] == [33, 51, pytest.approx(54.48)]
    assert raw["GPS GPSLatitudeRef"] == "S"
    assert raw["GPS GPSAltitudeRef"] == 1
    json.dumps(result, allow_nan=False)  # strictly valid JSON


def test_other_hemispheres_and_whole_second_exposure(tmp_path: Path) -> None:
    written = replace(
        RichExif(),
        latitude_ref="N",
        longitude_ref="W",
        altitude_ref=0,
        exposure_time=Fraction(2, 1),
        f_number=Fraction(56, 10),
    )
    result = extract_metadata(make_rich_exif_jpeg(tmp_path / "photo.jpg", written))
    assert result["gps_latitude"] == pytest.approx(_degrees(written.latitude))
    assert result["gps_longitude"] == pytest.approx(-_degrees(written.longitude))
    assert result["gps_altitude"] == pytest.approx(12.5)
    assert result["exposure_time"] == "2"
    assert result["f_number"] == pytest.approx(5.6)


def test_tags_restrict_raw_metadata_only(tmp_path: Path) -> None:
    photo = make_rich_exif_jpeg(tmp_path / "photo.jpg")
    result = extract_metadata(photo, ["make", "EXIF FNumber", "GPSLatitude", "NoSuchTag"])
    assert result["raw_metadata"] == {
        "EXIF FNumber": pytest.approx(2.8),
        "GPS GPSLatitude": [33, 51, pytest.approx(54.48)],
        "Image Make": "Canon",
    }
    assert result["model"] == "EOS 5D Mark IV"  # typed fields are not filtered


def test_png_without_exif_completes_with_nulls(tmp_path: Path) -> None:
    result = extract_metadata(make_png(tmp_path / "plain.png", size=(40, 30)))
    assert set(result) == PROTOCOL_KEYS
    assert (result["image_width"], result["image_height"]) == (40, 30)  # from the header
    assert result["raw_metadata"] == {}
    others = PROTOCOL_KEYS - {"image_width", "image_height", "raw_metadata"}
    assert {key: result[key] for key in others} == dict.fromkeys(others)


def test_exifread_stops_at_the_read_limit_and_pillow_fills_in(tmp_path: Path) -> None:
    photo = make_rich_exif_jpeg(tmp_path / "photo.jpg")
    assert read_exif_tags(photo, read_limit=16) == {}
    assert "Image Make" in read_exif_tags(photo)

    # With exifread blind, Pillow's reader supplies the same values under the same names.
    fallback = extract_metadata(photo, read_limit=16)
    primary = extract_metadata(photo)
    assert fallback["raw_metadata"] != {}
    typed = PROTOCOL_KEYS - {"raw_metadata"}
    assert {k: fallback[k] for k in typed} == {k: pytest.approx(primary[k]) for k in typed}
    raw = fallback["raw_metadata"]
    assert isinstance(raw, dict)
    assert raw["EXIF FNumber"] == pytest.approx(2.8)
    assert raw["GPS GPSLatitude"] == [33, 51, pytest.approx(54.48)]


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_fails_readably(tmp_path: Path, keep: float) -> None:
    with pytest.raises(PluginError, match=r"^not a readable image: "):
        extract_metadata(make_truncated_jpeg(tmp_path / "cut.jpg", keep=keep))


def test_jpeg_cut_before_its_frame_header_fails_despite_exif(tmp_path: Path) -> None:
    data = make_rich_exif_jpeg(tmp_path / "photo.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: data.index(b"\xff\xdb")])  # keep SOI + EXIF, drop tables and frame
    with pytest.raises(PluginError, match=r"^not a readable image: the image data is damaged"):
        extract_metadata(cut)


@pytest.mark.parametrize(
    "content", [b"just some text, not an image\n" * 5, b"", bytes(range(256)) * 4]
)
def test_non_images_fail_readably(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    with pytest.raises(PluginError, match=r"^not a readable image: ") as caught:
        extract_metadata(path)
    assert str(tmp_path) not in str(caught.value)


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="too large"):
        extract_metadata(make_bomb_png(tmp_path / "bomb.png"))
