"""Hash values of the hash plugin's core, checked against digests computed here independently."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from cl_server.errors import JobCancelledError, PluginError
from cl_server.plugins.hash.core import compute_hash
from cl_server.plugins.hash.digests import file_digest, image_pixel_digest, video_keyframe_digest
from tests.unit.plugins.hash_exif_media import (
    make_audio,
    make_bomb_png,
    make_png,
    make_rich_exif_jpeg,
    make_truncated_jpeg,
    make_video,
    remux,
)


def _pixels_sha512(path: Path) -> str:
    with Image.open(path) as image:
        return hashlib.sha512(image.tobytes()).hexdigest()


def test_md5_is_over_file_bytes_for_every_media_type(tmp_path: Path) -> None:
    jpeg = make_rich_exif_jpeg(tmp_path / "photo.jpg")
    result = compute_hash(jpeg, "md5")
    assert result.hash_value == hashlib.md5(jpeg.read_bytes()).hexdigest()
    assert (result.algorithm, result.media_type) == ("md5", "image")
    assert result.process_time >= 0


def test_sha512_of_an_image_is_over_decoded_pixels(tmp_path: Path) -> None:
    jpeg = make_rich_exif_jpeg(tmp_path / "photo.jpg")
    result = compute_hash(jpeg, "sha512")
    assert result.hash_value == _pixels_sha512(jpeg)
    assert result.hash_value != hashlib.sha512(jpeg.read_bytes()).hexdigest()
    assert (result.algorithm, result.media_type) == ("sha512_image", "image")


def test_same_pixels_in_different_lossless_files_hash_equal(tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png")
    with Image.open(png) as image:
        image.save(tmp_path / "a.bmp", "BMP")
    assert (tmp_path / "a.bmp").read_bytes() != png.read_bytes()
    assert (
        compute_hash(png, "sha512").hash_value
        == compute_hash(tmp_path / "a.bmp", "sha512").hash_value
    )


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "I;16"])
def test_strip_hashing_equals_whole_buffer(tmp_path: Path, mode: str) -> None:
    png = make_png(tmp_path / f"img-{mode.replace(';', '')}.png", size=(37, 29), mode=mode)
    expected = _pixels_sha512(png)
    # 50-byte strips: one or two rows per strip, so many strips are hashed.
    assert image_pixel_digest(png, strip_bytes=50) == expected
    assert image_pixel_digest(png) == expected


def test_sha512_of_a_video_is_over_key_frame_packets(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")
    assert 1 < video.keyframes < video.frames  # P-frames exist, so excluding them is tested
    result = compute_hash(video.path, "sha512")
    assert result.hash_value == video.keyframe_sha512
    assert (result.algorithm, result.media_type) == ("sha512_video", "video")


def test_video_hash_survives_remuxing(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")
    mkv = remux(video.path, tmp_path / "clip.mkv")
    assert mkv.read_bytes() != video.path.read_bytes()
    assert compute_hash(mkv, "sha512").hash_value == video.keyframe_sha512


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (b"hello world\n", "text"),
        (b"https://example.com/path\n", "url"),
        (b"", "file"),
        (bytes(range(256)) * 10, "file"),
    ],
)
def test_other_files_hash_their_bytes(tmp_path: Path, content: bytes, media_type: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    result = compute_hash(path, "sha512")
    assert result.hash_value == hashlib.sha512(content).hexdigest()
    assert (result.algorithm, result.media_type) == ("sha512_generic", media_type)


def test_audio_hashes_its_bytes(tmp_path: Path) -> None:
    wav = make_audio(tmp_path / "tone.wav")
    result = compute_hash(wav, "sha512")
    assert result.hash_value == hashlib.sha512(wav.read_bytes()).hexdigest()
    assert (result.algorithm, result.media_type) == ("sha512_generic", "audio")


def test_svg_gets_the_generic_hash(tmp_path: Path) -> None:
    svg = tmp_path / "drawing.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>')
    result = compute_hash(svg, "sha512")
    assert (result.algorithm, result.media_type) == ("sha512_generic", "image")
    assert result.hash_value == hashlib.sha512(svg.read_bytes()).hexdigest()


def test_truncated_jpeg_fails_readably(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"^not a readable image: image file is truncated"):
        compute_hash(make_truncated_jpeg(tmp_path / "cut.jpg"), "sha512")


def test_jpeg_cut_inside_its_header_fails_readably(tmp_path: Path) -> None:
    jpeg = make_rich_exif_jpeg(tmp_path / "photo.jpg")
    stub = tmp_path / "stub.jpg"
    stub.write_bytes(jpeg.read_bytes()[:40])
    with pytest.raises(PluginError, match=r"^not a readable image: ") as caught:
        compute_hash(stub, "sha512")
    assert str(tmp_path) not in str(caught.value)  # no server paths in user-facing messages


def test_md5_of_a_truncated_jpeg_needs_no_decode(tmp_path: Path) -> None:
    cut = make_truncated_jpeg(tmp_path / "cut.jpg")
    assert compute_hash(cut, "md5").hash_value == hashlib.md5(cut.read_bytes()).hexdigest()


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = make_bomb_png(tmp_path / "bomb.png")
    with pytest.raises(PluginError, match="too large"):
        compute_hash(bomb, "sha512")


def test_pixel_limit_is_enforced(tmp_path: Path) -> None:
    png = make_png(tmp_path / "a.png", size=(40, 30))
    with pytest.raises(PluginError, match=r"40x30 pixels \(limit 1000 pixels\)"):
        compute_hash(png, "sha512", max_pixels=1000)


def test_truncated_video_fails_readably(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4").path
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])  # the index is at the end
    with pytest.raises(PluginError, match=r"^not a readable video: ") as caught:
        video_keyframe_digest(cut)
    assert str(tmp_path) not in str(caught.value)


def test_audio_file_has_no_video_stream(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="no video stream"):
        video_keyframe_digest(make_audio(tmp_path / "tone.wav"))


def test_file_digest_reports_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 * 1024 * 1024 + 5))
    seen: list[float] = []
    assert (
        file_digest(path, "sha512", progress=seen.append)
        == hashlib.sha512(path.read_bytes()).hexdigest()
    )
    assert len(seen) == 4
    assert seen == sorted(seen)
    assert seen[-1] == 1.0

    def cancel() -> None:
        raise JobCancelledError("stop")

    with pytest.raises(JobCancelledError):
        file_digest(path, "sha512", check=cancel)
