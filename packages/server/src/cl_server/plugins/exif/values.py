"""exifread tags → JSON-safe values, and the typed fields of PROTOCOL §4.2 ``exif``.

Numbers stay numbers (ExifTool ``-n`` style): enumerations such as Orientation are their codes,
rationals are floats (ints when whole). Strings lose padding NULs/spaces. Binary blobs become
``"(Binary data N bytes)"``, as ExifTool prints them, so the JSON stays small and valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Protocol

JsonScalar = str | int | float | bool | None
JsonValue = JsonScalar | list[JsonScalar]

MAX_TEXT_CHARS = 4096

# exifread's FieldType codes (TIFF 6.0 field types, plus exifread's 0 for decoded makernotes).
_PROPRIETARY = 0
_BYTE, _ASCII, _SHORT, _LONG, _RATIO = 1, 2, 3, 4, 5
_SIGNED_BYTE, _UNDEFINED, _SIGNED_SHORT, _SIGNED_LONG, _SIGNED_RATIO = 6, 7, 8, 9, 10
_FLOAT_32, _FLOAT_64, _IFD = 11, 12, 13
_RATIOS = frozenset({_RATIO, _SIGNED_RATIO})
_FLOATS = frozenset({_FLOAT_32, _FLOAT_64})
_BLOBS = frozenset({_BYTE, _UNDEFINED, _IFD})


class ExifTag(Protocol):
    """The part of ``exifread.core.ifd_tag.IfdTag`` used here."""

    @property
    def printable(self) -> str: ...
    @property
    def field_type(self) -> int: ...
    @property
    def values(self) -> object: ...


Tags = Mapping[str, ExifTag]


def _clean_text(raw: object) -> str | None:
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        return None
    text = raw.strip("\x00 \t\r\n")[:MAX_TEXT_CHARS]
    return text or None


def _ratio_number(value: object) -> int | float | None:
    if not isinstance(value, Fraction):
        return _plain_number(value)
    if value.denominator == 0:  # exifread keeps n/0 as an unevaluated ratio: no value
        return None
    if value.denominator == 1:
        return value.numerator
    return value.numerator / value.denominator


def _plain_number(value: object) -> int | float | None:
    if isinstance(value, tuple) and value:  # exifread stores floats as 1-tuples from struct
        value = value[0]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def _blob(values: Sequence[object]) -> JsonValue:
    if len(values) == 1:
        return _plain_number(values[0])
    data = bytes(v for v in values if isinstance(v, int) and 0 <= v < 256).strip(b"\x00 ")
    if not data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"(Binary data {len(values)} bytes)"
    if text.isprintable():
        return text[:MAX_TEXT_CHARS]
    return f"(Binary data {len(values)} bytes)"


def json_value(tag: ExifTag) -> JsonValue:
    """A JSON-safe rendering of one tag; a single value is a scalar, several are a list."""
    field_type = int(tag.field_type)
    values = tag.values
    if field_type == _PROPRIETARY:
        return _clean_text(tag.printable)
    if field_type == _ASCII or isinstance(values, str | bytes):
        return _clean_text(values)
    if not isinstance(values, Sequence) or not values:
        return None
    if field_type in _BLOBS:
        return _blob(values)
    convert = _ratio_number if field_type in _RATIOS else _plain_number
    numbers: list[JsonScalar] = [convert(v) for v in values]
    return numbers[0] if len(numbers) == 1 else numbers


def _first_number(tags: Tags, key: str) -> int | float | None:
    value = json_value(tags[key]) if key in tags else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def text_field(tags: Tags, key: str) -> str | None:
    return _clean_text(tags[key].values) if key in tags else None


def int_field(tags: Tags, *keys: str) -> int | None:
    for key in keys:
        number = _first_number(tags, key)
        if number is not None:
            return int(number)
    return None


def float_field(tags: Tags, key: str) -> float | None:
    number = _first_number(tags, key)
    return None if number is None else float(number)


def exposure_field(tags: Tags, key: str = "EXIF ExposureTime") -> str | None:
    """Exposure time as a reduced fraction string: "1/125", or "2" for whole seconds."""
    tag = tags.get(key)
    values = tag.values if tag is not None else None
    if not isinstance(values, Sequence) or isinstance(values, str | bytes) or not values:
        return None
    first = values[0]
    if isinstance(first, Fraction):
        if first.denominator == 0:
            return None
        return str(Fraction(first.numerator, first.denominator))
    number = _plain_number(first)
    return None if number is None else str(Fraction(number).limit_denominator(100_000))


def gps_coordinate(tags: Tags, key: str, ref_key: str, negative_ref: str) -> float | None:
    """Signed decimal degrees from degrees/minutes/seconds; ``negative_ref`` is "S" or "W"."""
    tag = tags.get(key)
    values = tag.values if tag is not None else None
    if not isinstance(values, Sequence) or isinstance(values, str | bytes) or not values:
        return None
    parts = [_ratio_number(v) for v in values[:3]]
    if any(p is None for p in parts):
        return None
    degrees = 0.0
    for part, scale in zip(parts, (1.0, 60.0, 3600.0), strict=False):
        degrees += float(part or 0) / scale
    ref = text_field(tags, ref_key)
    if ref is not None and ref.upper().startswith(negative_ref):
        degrees = -degrees
    return degrees


def gps_altitude(tags: Tags) -> float | None:
    """Metres; negative when GPSAltitudeRef says below sea level (1)."""
    altitude = float_field(tags, "GPS GPSAltitude")
    if altitude is None:
        return None
    return -altitude if int_field(tags, "GPS GPSAltitudeRef") == 1 else altitude


def tag_matches(key: str, wanted: frozenset[str]) -> bool:
    """Whether the exifread key ("EXIF FNumber") is asked for by a lower-cased name.

    A name matches the full key ("exif fnumber") or the tag name without its group
    ("fnumber", which also matches the same tag in other groups, e.g. Image/Thumbnail).
    """
    lowered = key.lower()
    return lowered in wanted or lowered.partition(" ")[2] in wanted
