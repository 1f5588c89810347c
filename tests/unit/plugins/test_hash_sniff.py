"""Media type sniffing for the hash plugin: content decides, never the file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cl_server.plugins.hash.sniff import (
    is_plain_image,
    is_single_url,
    is_svg,
    looks_like_text,
    sniff_media_type,
)
from tests.unit.plugins.hash_exif_media import (
    make_audio,
    make_heic,
    make_png,
    make_rich_exif_jpeg,
    make_video,
    remux,
)


def test_jpeg_and_png_are_images(tmp_path: Path) -> None:
    assert sniff_media_type(make_rich_exif_jpeg(tmp_path / "photo.jpg")) == "image"
    assert sniff_media_type(make_png(tmp_path / "picture.png")) == "image"


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "WEBP"])
def test_common_photo_formats_are_known_by_their_first_bytes(
    tmp_path: Path, image_format: str
) -> None:
    from PIL import Image

    path = tmp_path / "picture"
    Image.new("RGB", (8, 8), "teal").save(path, format=image_format)
    assert is_plain_image(path.read_bytes())
    assert sniff_media_type(path) == "image"


def test_other_formats_are_not_taken_for_plain_images(tmp_path: Path) -> None:
    assert not is_plain_image(make_heic(tmp_path / "photo.heic").read_bytes())
    assert not is_plain_image(make_audio(tmp_path / "tone.wav").read_bytes())  # RIFF, not WebP
    assert not is_plain_image(b"\xff\xd8")  # too short to be a JPEG


def test_heic_is_an_image_not_an_mp4(tmp_path: Path) -> None:
    # HEIC shares MP4's "ftyp" box; its brand marks it as a still image.
    assert sniff_media_type(make_heic(tmp_path / "photo.heic")) == "image"


def test_name_does_not_matter(tmp_path: Path) -> None:
    jpeg = make_rich_exif_jpeg(tmp_path / "photo.jpg")
    renamed = jpeg.rename(tmp_path / "notes.txt")
    assert sniff_media_type(renamed) == "image"
    text = tmp_path / "fake.jpg"
    text.write_text("plain words\n")
    assert sniff_media_type(text) == "text"


def test_video_in_mp4_and_matroska(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4").path
    assert sniff_media_type(video) == "video"
    assert sniff_media_type(remux(video, tmp_path / "clip.mkv")) == "video"


def test_wav_is_audio(tmp_path: Path) -> None:
    assert sniff_media_type(make_audio(tmp_path / "tone.wav")) == "audio"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("https://example.com/a/b?c=d#e", "url"),
        ("  \n http://example.org \n\n", "url"),
        ("HTTPS://EXAMPLE.COM/", "url"),
        ("https://example.com one two", "text"),
        ("https://a.example https://b.example", "text"),
        ("ftp://example.com/file", "text"),
        ("http://", "text"),
        ("see https://example.com", "text"),
        ("BM this text starts like a bitmap signature", "text"),
        ("GIF89a is how this sentence and a GIF file both begin", "text"),
        ("héllo wörld, ünïcode text\n", "text"),
    ],
)
def test_text_and_url(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "input"
    path.write_text(content, encoding="utf-8")
    assert sniff_media_type(path) == expected


def test_long_text_with_a_url_is_text(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("https://example.com/" + "a" * 9000)
    assert sniff_media_type(path) == "text"


def test_empty_and_binary_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert sniff_media_type(empty) == "file"
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    assert sniff_media_type(binary) == "file"


def test_svg_is_an_image(tmp_path: Path) -> None:
    path = tmp_path / "drawing"
    path.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n'
    )
    assert sniff_media_type(path) == "image"


def test_looks_like_text_tolerates_a_cut_multibyte_character() -> None:
    data = "€uro".encode()
    assert looks_like_text(data[:2])  # first two of the three bytes of "€"
    assert not looks_like_text(b"abc\x00def")
    assert not looks_like_text(b"\xff\xd8\xff\xe0")


def test_is_single_url_rejects_oversized_input() -> None:
    assert is_single_url(b"https://example.com/x")
    assert not is_single_url(b"https://example.com/" + b"x" * 9000)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"<svg>", True),
        (b'\xef\xbb\xbf  <svg xmlns="http://www.w3.org/2000/svg"/>', True),
        (b'<?xml version="1.0"?><!-- made by hand --><!DOCTYPE svg PUBLIC "a" "b">\n<svg\n>', True),
        (b"<svgx>", False),
        (b"<html><svg></svg></html>", False),
        (b"<!-- never closed <svg>", False),
    ],
)
def test_is_svg(head: bytes, expected: bool) -> None:
    assert is_svg(head) is expected


def test_is_svg_is_linear_on_many_comments() -> None:
    # A backtracking regular expression took minutes on this; the scan takes milliseconds.
    assert not is_svg(b"<!-- -->" * 500 + b"<x>")
