"""Media plugin benchmarks, each against a plain baseline measured in the same run.

1. media_thumbnail on 12-megapixel JPEGs (generated here) vs a naive Pillow open-resize-save loop.
2. hls_streaming (runner: probe + one ffmpeg run + master rewrite) on a 10 s 720p H.264+AAC clip
   vs the equivalent plain ffmpeg command line. Target: within 10 %.

Run: ``uv run python bench/media.py [--images 8] [--rounds 5] [--hls-rounds 5]``. Figures are
medians; runs alternate between the two sides so machine noise hits both.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from cl_server.media.ffmpeg import ffmpeg_exe, ffmpeg_version
from cl_server.plugins.base import JobContext
from cl_server.plugins.hls_streaming.spec import HlsStreamingParams, HlsStreamingSpec
from cl_server.plugins.media_thumbnail.image_thumb import make_image_thumbnail

PHOTO_SIZE = (4000, 3000)  # 12 megapixels
BOX = (256, 256)


def make_photos(root: Path, count: int) -> list[Path]:
    """Photo-like 12 MP JPEGs: smooth gradients plus sensor-like noise, quality 90."""
    base = Image.linear_gradient("L").resize(PHOTO_SIZE)
    paths = []
    for i in range(count):
        noise = Image.effect_noise(PHOTO_SIZE, 25 + i)
        red = Image.blend(base, noise, 0.3)
        green = Image.blend(base.rotate(90 + i, expand=False), noise, 0.2)
        blue = Image.blend(base.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.25)
        path = root / f"photo_{i}.jpg"
        Image.merge("RGB", (red, green, blue)).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def naive_thumbnail(source: Path, destination: Path) -> None:
    with Image.open(source) as image:
        rgb = image.convert("RGB")
        scale = min(BOX[0] / rgb.width, BOX[1] / rgb.height)
        size = (round(rgb.width * scale), round(rgb.height * scale))
        rgb.resize(size, Image.Resampling.LANCZOS).save(destination, "JPEG", quality=85)


def plugin_thumbnail(source: Path, destination: Path) -> None:
    make_image_thumbnail(source, destination, None, None)


def images_per_second(fn: Callable[[Path, Path], None], photos: list[Path], out: Path) -> float:
    started = time.perf_counter()
    for i, photo in enumerate(photos):
        fn(photo, out / f"thumb_{i}.jpg")
    return len(photos) / (time.perf_counter() - started)


def bench_thumbnails(root: Path, count: int, rounds: int) -> None:
    photos = make_photos(root, count)
    out = root / "thumbs"
    out.mkdir()
    naive: list[float] = []
    plugin: list[float] = []
    for _ in range(rounds):
        naive.append(images_per_second(naive_thumbnail, photos, out))
        plugin.append(images_per_second(plugin_thumbnail, photos, out))
    n, p = statistics.median(naive), statistics.median(plugin)
    print(f"thumbnails, {count} x 12 MP JPEG, {rounds} rounds (median images/s):")
    print(f"  naive Pillow open-resize-save: {n:8.2f} images/s ({1000 / n:7.1f} ms/image)")
    print(f"  media_thumbnail:               {p:8.2f} images/s ({1000 / p:7.1f} ms/image)")
    print(f"  speed-up: {p / n:.1f}x")


def make_clip(path: Path) -> None:
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
            "-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def plain_ffmpeg_hls(clip: Path, out: Path) -> None:
    """What a person would type for the same two renditions (720p/3500k, 480p/1500k)."""
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(clip),
            "-filter_complex",
            "[0:v]split=2[a][b];[a]scale=-2:720[v0];[b]scale=-2:480[v1]",
            "-map", "[v0]", "-map", "[v1]", "-map", "0:a", "-map", "0:a",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-b:v:0", "3500k", "-maxrate:v:0", "3500k", "-bufsize:v:0", "3500k",
            "-b:v:1", "1500k", "-maxrate:v:1", "1500k", "-bufsize:v:1", "1500k",
            "-g", "60", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*2)",
            "-c:a", "aac", "-b:a", "128k",
            "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
            "-master_pl_name", "adaptive.m3u8",
            "-hls_segment_filename", str(out / "adaptive-%v-%03d.ts"),
            "-var_stream_map", "v:0,a:0,name:720p-3500 v:1,a:1,name:480p-1500",
            str(out / "adaptive-%v.m3u8"),
        ],
        check=True,
    )  # fmt: skip


def plugin_hls(clip: Path, job_dir: Path) -> None:
    runner = HlsStreamingSpec().load()
    params = HlsStreamingSpec().stored_params(HlsStreamingParams())
    ctx = JobContext(
        job_id="bench", job_dir=job_dir, input_path=clip, params=params,
        cancelled=threading.Event(),
    )  # fmt: skip
    runner.run(ctx)


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (ffmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``fn``; CPU time is less disturbed by a busy machine."""
    cpu, started = cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - started, cpu_seconds() - cpu


def bench_hls(root: Path, rounds: int) -> None:
    clip = root / "clip_720p_10s.mp4"
    make_clip(clip)
    plain: list[tuple[float, float]] = []
    plugin: list[tuple[float, float]] = []
    for i in range(rounds):
        plain_dir = root / f"plain_{i}"
        plain_dir.mkdir()
        job_dir = root / f"job_{i}"
        # Alternate which side goes first so drifting machine load hits both alike.
        runs = [
            (plain, lambda d=plain_dir: plain_ffmpeg_hls(clip, d)),
            (plugin, lambda d=job_dir: plugin_hls(clip, d)),
        ]
        for results, fn in runs if i % 2 == 0 else reversed(runs):
            results.append(timed(fn))
        shutil.rmtree(plain_dir)
        shutil.rmtree(job_dir)
    wall_a, wall_b = (statistics.median(w for w, _ in r) for r in (plain, plugin))
    cpu_a, cpu_b = (statistics.median(c for _, c in r) for r in (plain, plugin))
    print(f"hls, 10 s 1280x720 H.264+AAC -> 720p/3500k + 480p/1500k, {rounds} rounds (median):")
    print(f"  plain ffmpeg command line: {wall_a:6.2f} s wall, {cpu_a:6.2f} s CPU")
    print(f"  hls_streaming runner:      {wall_b:6.2f} s wall, {cpu_b:6.2f} s CPU")
    for label, a, b in (("wall", wall_a, wall_b), ("CPU", cpu_a, cpu_b)):
        print(f"  {label} ratio runner/plain: {b / a:.3f} ({(b / a - 1) * 100:+.1f} %)")
    print("  target: runner within +10 % of plain ffmpeg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hls-rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, {ffmpeg_version()}")
    with tempfile.TemporaryDirectory(prefix="cl-media-bench-") as tmp:
        root = Path(tmp)
        bench_thumbnails(root, args.images, args.rounds)
        bench_hls(root, args.hls_rounds)


if __name__ == "__main__":
    main()
