"""JSON rendering of exifread tags, with hand-built tags for the awkward cases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from exifread.utils import Ratio

from cl_server.plugins.exif.values import (
    exposure_field,
    gps_coordinate,
    json_value,
    tag_matches,
    text_field,
)


@dataclass
class FakeTag:
    field_type: int
    values: object
    printable: str = ""


def test_ascii_is_stripped_of_padding() -> None:
    assert json_value(FakeTag(2, "Canon\x00\x00  ")) == "Canon"
    assert json_value(FakeTag(2, "\x00 ")) is None
    assert text_field({"Image Make": FakeTag(2, b"Nikon\x00")}, "Image Make") == "Nikon"


def test_ratios_become_numbers_and_zero_denominators_null() -> None:
    assert json_value(FakeTag(5, [Ratio(28, 10)])) == pytest.approx(2.8)
    assert json_value(FakeTag(5, [Ratio(50, 1)])) == 50
    assert json_value(FakeTag(10, [Ratio(-1, 3)])) == pytest.approx(-1 / 3)
    assert json_value(FakeTag(5, [Ratio(5, 0)])) is None


def test_integers_floats_and_lists() -> None:
    assert json_value(FakeTag(3, [6])) == 6
    assert json_value(FakeTag(3, [1, 2, 3])) == [1, 2, 3]
    assert json_value(FakeTag(11, [(1.5,)])) == 1.5
    assert json_value(FakeTag(12, [(float("nan"),)])) is None  # JSON has no NaN
    assert json_value(FakeTag(4, [])) is None


def test_binary_blobs_are_summarised() -> None:
    assert json_value(FakeTag(7, [48, 50, 51, 50])) == "0232"  # ExifVersion
    assert json_value(FakeTag(7, [1, 2, 3, 0])) == "(Binary data 4 bytes)"
    assert json_value(FakeTag(7, [0xFF, 0xD8, 0xFF])) == "(Binary data 3 bytes)"
    assert json_value(FakeTag(1, [1])) == 1  # e.g. GPSAltitudeRef


def test_proprietary_tags_use_their_printable_form() -> None:
    assert json_value(FakeTag(0, [1, 2], printable="Fine ")) == "Fine"


def test_exposure_is_a_reduced_fraction() -> None:
    assert exposure_field({"EXIF ExposureTime": FakeTag(5, [Ratio(10, 1250)])}) == "1/125"
    assert exposure_field({"EXIF ExposureTime": FakeTag(5, [Ratio(30, 1)])}) == "30"
    assert exposure_field({"EXIF ExposureTime": FakeTag(5, [Ratio(1, 0)])}) is None
    assert exposure_field({}) is None


def test_gps_coordinate_needs_valid_parts() -> None:
    tags = {
        "GPS GPSLatitude": FakeTag(5, [Ratio(10, 1), Ratio(30, 1), Ratio(0, 1)]),
        "GPS GPSLatitudeRef": FakeTag(2, "S"),
    }
    assert gps_coordinate(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S") == -10.5
    tags["GPS GPSLatitude"] = FakeTag(5, [Ratio(10, 0), Ratio(30, 1), Ratio(0, 1)])
    assert gps_coordinate(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S") is None


@pytest.mark.parametrize(
    ("key", "wanted", "expected"),
    [
        ("EXIF FNumber", {"fnumber"}, True),
        ("EXIF FNumber", {"exif fnumber"}, True),
        ("EXIF FNumber", {"image fnumber"}, False),
        ("Image Make", {"make"}, True),
        ("Thumbnail Compression", {"compression"}, True),
        ("EXIF FNumber", {"number"}, False),
    ],
)
def test_tag_matching_rule(key: str, wanted: set[str], expected: bool) -> None:
    assert tag_matches(key, frozenset(wanted)) is expected
