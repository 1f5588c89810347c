"""Pillow's EXIF reader as a fallback for files exifread cannot parse (e.g. some HEIC writers).

Tags are named with exifread's own tables ("EXIF FNumber", "GPS GPSLatitude", ...) and shaped
like exifread's tags, so ``values.py`` treats both sources alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

_ASCII, _LONG, _RATIO, _UNDEFINED, _FLOAT_64 = 2, 4, 5, 7, 12
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005


@dataclass(frozen=True)
class PillowTag:
    field_type: int
    values: object
    printable: str = field(default="")


def _ratio(value: object) -> Fraction | None:
    from exifread.utils import Ratio
    from PIL.TiffImagePlugin import IFDRational

    if isinstance(value, IFDRational):
        # exifread's Ratio keeps n/0 (unknown) instead of raising ZeroDivisionError.
        return Ratio(int(value.numerator), int(value.denominator))
    return None


def _as_tag(value: object) -> PillowTag | None:
    if isinstance(value, str):
        return PillowTag(_ASCII, value)
    if isinstance(value, bytes):
        return PillowTag(_UNDEFINED, list(value))
    ratio = _ratio(value)
    if ratio is not None:
        return PillowTag(_RATIO, [ratio])
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return PillowTag(_LONG, [value])
    if isinstance(value, float):
        return PillowTag(_FLOAT_64, [(value,)])
    if isinstance(value, tuple) and value:
        items: tuple[object, ...] = value
        ratios = [_ratio(item) for item in items]
        if all(r is not None for r in ratios):
            return PillowTag(_RATIO, ratios)
        if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            return PillowTag(_LONG, list(items))
    return None  # nested IFDs and exotic shapes are left out


def pillow_exif_tags(image: Image.Image) -> dict[str, PillowTag]:
    """Every tag of IFD0 and the Exif, GPS and Interoperability IFDs Pillow can read."""
    from exifread.tags.exif import EXIF_TAGS, GPS_TAGS, INTEROP_TAGS

    exif = image.getexif()
    groups: list[tuple[str, Mapping[int, object], Mapping[int, tuple[object, ...]]]] = [
        ("Image", exif, EXIF_TAGS),
        ("EXIF", exif.get_ifd(_EXIF_IFD), EXIF_TAGS),
        ("GPS", exif.get_ifd(_GPS_IFD), GPS_TAGS),
        ("Interoperability", exif.get_ifd(_INTEROP_IFD), INTEROP_TAGS),
    ]
    tags: dict[str, PillowTag] = {}
    for group, entries, names in groups:
        for tag_id, value in entries.items():
            entry = names.get(tag_id)
            name = str(entry[0]) if entry else f"Tag 0x{tag_id:04X}"
            converted = _as_tag(value)
            if converted is not None:
                tags[f"{group} {name}"] = converted
    return tags
