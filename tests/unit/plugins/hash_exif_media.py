"""Real media for the hash and exif plugin tests, built on the spot with Pillow and PyAV."""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image, TiffImagePlugin


@dataclass(frozen=True)
class RichExif:
    """The values written into the rich JPEG; tests compare the plugin's output against them."""

    make: str = "Canon"
    model: str = "EOS 5D Mark IV"
    software: str = "cl-test 1.0"
    date_time_original: str = "2023:07:14 09:30:15"
    create_date: str = "2023:07:14 09:30:16"
    orientation: int = 6
    iso: int = 400
    f_number: Fraction = Fraction(28, 10)
    focal_length: Fraction = Fraction(50, 1)
    exposure_time: Fraction = Fraction(1, 125)
    # Deliberately not the stored size: the plugin must prefer EXIF over the header.
    exif_width: int = 6720
    exif_height: int = 4480
    # 33° 51' 54.48" S, 151° 12' 34.56" E, 12.5 m below sea level (exercise every sign).
    latitude: tuple[Fraction, Fraction, Fraction] = (
        Fraction(33),
        Fraction(51),
        Fraction(5448, 100),
    )
    latitude_ref: str = "S"
    longitude: tuple[Fraction, Fraction, Fraction] = (
        Fraction(151),
        Fraction(12),
        Fraction(3456, 100),
    )
    longitude_ref: str = "E"
    altitude: Fraction = Fraction(125, 10)
    altitude_ref: int = 1


def _rational(value: Fraction) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(value.numerator, value.denominator)


def make_rich_exif_jpeg(
    path: Path, values: RichExif = RichExif(), size: tuple[int, int] = (64, 48)
) -> Path:
    exif = Image.Exif()
    exif[0x010F] = values.make
    exif[0x0110] = values.model
    exif[0x0131] = values.software
    exif[0x0112] = values.orientation
    sub = exif.get_ifd(0x8769)  # Exif IFD
    sub[0x9003] = values.date_time_original
    sub[0x9004] = values.create_date
    sub[0x8827] = values.iso
    sub[0x829D] = _rational(values.f_number)
    sub[0x920A] = _rational(values.focal_length)
    sub[0x829A] = _rational(values.exposure_time)
    sub[0xA002] = values.exif_width
    sub[0xA003] = values.exif_height
    gps = exif.get_ifd(0x8825)  # GPS IFD
    gps[1] = values.latitude_ref
    gps[2] = tuple(_rational(v) for v in values.latitude)
    gps[3] = values.longitude_ref
    gps[4] = tuple(_rational(v) for v in values.longitude)
    gps[5] = bytes([values.altitude_ref])
    gps[6] = _rational(values.altitude)
    gradient(size).save(path, "JPEG", quality=90, exif=exif)
    return path


def gradient(size: tuple[int, int]) -> Image.Image:
    """An RGB image whose every pixel differs from its neighbours (hash-sensitive)."""
    width, height = size
    image = Image.new("RGB", size)
    image.putdata(
        [
            ((x * 7) % 256, (y * 11) % 256, (x * y) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    return image


def make_png(path: Path, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> Path:
    gradient(size).convert(mode).save(path, "PNG")
    return path


def make_truncated_jpeg(path: Path, keep: float = 0.5) -> Path:
    """A JPEG cut after ``keep`` of its bytes: header and EXIF survive, pixel data does not."""
    full = path.with_name(path.stem + "-full.jpg")
    make_rich_exif_jpeg(full, size=(160, 120))
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_bomb_png(path: Path, side: int = 100_000) -> Path:
    """A valid PNG header that claims ``side`` x ``side`` pixels, with no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@dataclass(frozen=True)
class Video:
    path: Path
    keyframe_sha512: str
    """SHA-512 over the encoder's key-frame packets, collected while writing the file."""
    keyframes: int
    frames: int


def make_video(
    path: Path, frames: int = 12, gop: int = 4, container_format: str | None = None
) -> Video:
    """A small MPEG-4 Part 2 video (the codec's packets are stored unchanged by MP4 and MKV)."""
    import av
    import numpy as np

    digest = hashlib.sha512()
    keyframes = 0
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = gop
        for index in range(frames + 1):
            frame = None
            if index < frames:  # a slowly moving gradient: P-frames between key frames
                pixels = np.zeros((48, 64, 3), dtype=np.uint8)
                pixels[:, :, 0] = (np.arange(64) * 4 + index) % 256
                pixels[:, :, 1] = 128
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                if packet.is_keyframe:
                    digest.update(bytes(packet))
                    keyframes += 1
                container.mux(packet)
    return Video(path, digest.hexdigest(), keyframes, frames)


def remux(source: Path, target: Path) -> Path:
    """Copy the video packets into another container without re-encoding."""
    import av

    with av.open(str(source)) as reader, av.open(str(target), mode="w") as writer:
        in_stream = reader.streams.video[0]
        out_stream = writer.add_stream_from_template(in_stream)
        for packet in reader.demux(in_stream):
            if packet.dts is None:
                continue
            packet.stream = out_stream
            writer.mux(packet)
    return target


def make_audio(path: Path) -> Path:
    """A short mono WAV (PCM), built with PyAV."""
    import av
    import numpy as np

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        samples = (np.sin(np.arange(800) / 5) * 3000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def make_heic(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A HEIC photo with Make/Model EXIF (pillow-heif registers the codec with Pillow)."""
    from cl_server.media.images import register_image_plugins

    register_image_plugins()
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    gradient(size).save(path, "HEIF", quality=90, exif=exif.tobytes())
    return path
