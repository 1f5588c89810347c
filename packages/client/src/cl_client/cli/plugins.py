"""Plugin commands of ``cl-client`` (one sub-command group per task type)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cl_client.cli.common import CliError, expand_inputs, fail, get_state, run
from cl_client.cli.jobs import JobOptions, Submit, run_batch, run_single
from cl_client.compute_client import ComputeClient
from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.clip_embedding import CLIP_TEXT_ENDPOINT, CLIP_TEXT_TASK_TYPE

InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="Input file(s) or glob pattern(s) such as 'photos/*.jpg'.", show_default=False
    ),
]
WatchOpt = Annotated[
    bool, typer.Option("--watch", "-w", help="Show live progress (MQTT, polling without broker).")
]
WatchLongOpt = Annotated[bool, typer.Option("--watch", help="Show live progress.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", "-t", help="Seconds to wait per job.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Save the job's output file here (one input only)."),
]
OutputDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--output-dir",
        help="Save every output file under DIR/<input name>/ (for one file or a batch).",
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, help="Jobs in flight at once for batches.")
]
PriorityOpt = Annotated[int, typer.Option("--priority", min=0, max=10, help="Job priority 0..10.")]
NormalizeOpt = Annotated[
    bool | None,
    typer.Option("--normalize/--no-normalize", help="L2-normalise (server default: yes)."),
]


def _submit_file(task_type: str, path: Path, options: JobOptions) -> Submit:
    async def submit(
        client: ComputeClient,
        on_progress: OnJobResponseCallback,
        on_complete: OnJobResponseCallback,
        wait: bool,
        job_timeout: float | None,
    ) -> JobResponse:
        return await client.plugin(task_type).submit_with_files(
            {"file": path},
            options.params,
            options.priority,
            wait,
            job_timeout,
            on_progress,
            on_complete,
        )

    return submit


def _run_plugin(ctx: typer.Context, task_type: str, inputs: list[str], options: JobOptions) -> None:
    state = get_state(ctx)

    async def go() -> int:
        paths = expand_inputs(inputs)
        if len(paths) == 1:
            path = paths[0]
            submit = _submit_file(task_type, path, options)
            return await run_single(state, f"{task_type} {path.name}", submit, options, path.stem)
        return await run_batch(state, task_type, paths, options)

    run(state, go())


def _options(
    watch: bool,
    timeout: float,
    output: Path | None,
    output_dir: Path | None,
    concurrency: int,
    priority: int,
    params: Mapping[str, object] | None = None,
) -> JobOptions:
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    return JobOptions(watch, timeout, output, output_dir, concurrency, priority, clean)


# ---------------------------------------------------------------------- embeddings

clip_app = typer.Typer(help="CLIP embeddings of images (and texts).", no_args_is_help=True)


@clip_app.command("embed")
def clip_embed(
    ctx: typer.Context,
    images: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 60.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    normalize: NormalizeOpt = None,
) -> None:
    """Embed image(s); output: output/clip_embedding.npy."""
    options = _options(
        watch, timeout, output, output_dir, concurrency, priority, {"normalize": normalize}
    )
    _run_plugin(ctx, "clip_embedding", images, options)


@clip_app.command("embed-text")
def clip_embed_text(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The text to embed.")],
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 60.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    priority: PriorityOpt = 5,
    normalize: NormalizeOpt = None,
) -> None:
    """Embed a text with the CLIP text encoder (same space as images)."""
    state = get_state(ctx)
    if not text.strip():
        raise typer.BadParameter("text must not be empty", param_hint="TEXT")
    options = _options(watch, timeout, output, output_dir, 1, priority, {"normalize": normalize})

    async def submit(
        client: ComputeClient,
        on_progress: OnJobResponseCallback,
        on_complete: OnJobResponseCallback,
        wait: bool,
        job_timeout: float | None,
    ) -> JobResponse:
        return await client.clip_embedding.submit_form(
            CLIP_TEXT_ENDPOINT,
            CLIP_TEXT_TASK_TYPE,
            {"text": text, **options.params},
            options.priority,
            wait,
            job_timeout,
            on_progress,
            on_complete,
        )

    run(state, run_single(state, CLIP_TEXT_TASK_TYPE, submit, options, "text"))


dino_app = typer.Typer(help="DINOv2 embeddings of images.", no_args_is_help=True)


@dino_app.command("embed")
def dino_embed(
    ctx: typer.Context,
    images: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 60.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    normalize: NormalizeOpt = None,
) -> None:
    """Embed image(s); output: output/dino_embedding.npy."""
    options = _options(
        watch, timeout, output, output_dir, concurrency, priority, {"normalize": normalize}
    )
    _run_plugin(ctx, "dino_embedding", images, options)


face_embedding_app = typer.Typer(help="Embeddings of face images.", no_args_is_help=True)


@face_embedding_app.command("embed")
def face_embed(
    ctx: typer.Context,
    images: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 60.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    normalize: NormalizeOpt = None,
) -> None:
    """Embed face image(s); output: output/face_embedding.npy."""
    options = _options(
        watch, timeout, output, output_dir, concurrency, priority, {"normalize": normalize}
    )
    _run_plugin(ctx, "face_embedding", images, options)


# ---------------------------------------------------------------------- analysis

exif_app = typer.Typer(help="EXIF and other metadata.", no_args_is_help=True)


@exif_app.command("extract")
def exif_extract(
    ctx: typer.Context,
    images: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 30.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    tags: Annotated[
        str | None, typer.Option("--tags", help="Comma-separated tag names (default: all).")
    ] = None,
) -> None:
    """Extract metadata; output: output/exif_metadata.json."""
    options = _options(watch, timeout, output, output_dir, concurrency, priority, {"tags": tags})
    _run_plugin(ctx, "exif", images, options)


face_detection_app = typer.Typer(help="Face detection with aligned crops.", no_args_is_help=True)


@face_detection_app.command("detect")
def face_detect(
    ctx: typer.Context,
    images: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 30.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    confidence_threshold: Annotated[
        float | None, typer.Option("--confidence-threshold", min=0.0, max=1.0)
    ] = None,
    nms_threshold: Annotated[
        float | None, typer.Option("--nms-threshold", min=0.0, max=1.0)
    ] = None,
) -> None:
    """Detect faces; output: output/face_detection.json and faces/face_<i>.png."""
    params = {"confidence_threshold": confidence_threshold, "nms_threshold": nms_threshold}
    options = _options(watch, timeout, output, output_dir, concurrency, priority, params)
    _run_plugin(ctx, "face_detection", images, options)


class HashAlgorithm(StrEnum):
    sha512 = "sha512"
    md5 = "md5"


hash_app = typer.Typer(help="Content hashes.", no_args_is_help=True)


@hash_app.command("compute")
def hash_compute(
    ctx: typer.Context,
    images: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 30.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    algorithm: Annotated[HashAlgorithm | None, typer.Option("--algorithm")] = None,
) -> None:
    """Hash file(s); output: output/hash.json."""
    params = {"algorithm": algorithm.value if algorithm else None}
    options = _options(watch, timeout, output, output_dir, concurrency, priority, params)
    _run_plugin(ctx, "hash", images, options)


# ---------------------------------------------------------------------- media

hls_app = typer.Typer(help="HLS adaptive streaming renditions.", no_args_is_help=True)


def parse_variant(text: str) -> dict[str, int]:
    """``720:3500`` → ``{"resolution": 720, "bitrate": 3500}``."""
    try:
        height_text, kbps_text = text.split(":", 1)
        return {"resolution": int(height_text), "bitrate": int(kbps_text)}
    except ValueError:
        raise CliError(
            f"--variant must look like HEIGHT:KBPS (e.g. 720:3500), got {text!r}"
        ) from None


@hls_app.command("generate-manifest")
def hls_generate(
    ctx: typer.Context,
    videos: InputsArg,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 120.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 2,
    priority: PriorityOpt = 5,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="HEIGHT:KBPS, repeatable (default 720:3500 and 480:1500)."),
    ] = None,
    include_original: Annotated[
        bool | None, typer.Option("--include-original/--no-original")
    ] = None,
) -> None:
    """Transcode video(s) to HLS; -o saves output/adaptive.m3u8, --output-dir saves all."""
    state = get_state(ctx)
    try:
        variants = json.dumps([parse_variant(v) for v in variant]) if variant else None
    except CliError as exc:
        fail(state, str(exc), 2)
    params = {"variants": variants, "include_original": include_original}
    options = _options(watch, timeout, output, output_dir, concurrency, priority, params)
    _run_plugin(ctx, "hls_streaming", videos, options)


class ImageFormat(StrEnum):
    png = "png"
    jpg = "jpg"
    jpeg = "jpeg"
    webp = "webp"
    gif = "gif"
    bmp = "bmp"
    tiff = "tiff"


image_conversion_app = typer.Typer(help="Image format conversion.", no_args_is_help=True)


@image_conversion_app.command("convert")
def image_convert(
    ctx: typer.Context,
    images: InputsArg,
    output_format: Annotated[ImageFormat, typer.Option("--format", "-f", help="Target format.")],
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100)] = 85,
    watch: WatchOpt = False,
    timeout: TimeoutOpt = 60.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
) -> None:
    """Convert image(s); output: output/converted_<name>.<ext>."""
    params = {"format": output_format.value, "quality": quality}
    options = _options(watch, timeout, output, output_dir, concurrency, priority, params)
    _run_plugin(ctx, "image_conversion", images, options)


media_thumbnail_app = typer.Typer(
    help="Thumbnails of images and key-frame mosaics of videos.", no_args_is_help=True
)


@media_thumbnail_app.command("generate")
def thumbnail_generate(
    ctx: typer.Context,
    media: InputsArg,
    width: Annotated[int, typer.Option("--width", "-w", min=1, help="Box width in pixels.")],
    height: Annotated[int, typer.Option("--height", "-h", min=1, help="Box height in pixels.")],
    watch: WatchLongOpt = False,
    timeout: TimeoutOpt = 60.0,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    concurrency: ConcurrencyOpt = 4,
    priority: PriorityOpt = 5,
    keep_aspect: Annotated[
        bool | None, typer.Option("--keep-aspect/--stretch", help="Keep the aspect ratio.")
    ] = None,
) -> None:
    """Thumbnail(s) inside WIDTH x HEIGHT; output: output/thumbnail.jpg."""
    params = {"width": width, "height": height, "maintain_aspect_ratio": keep_aspect}
    options = _options(watch, timeout, output, output_dir, concurrency, priority, params)
    _run_plugin(ctx, "media_thumbnail", media, options)


def register(app: typer.Typer) -> None:
    """Add the plugin command groups to the root app."""
    app.add_typer(clip_app, name="clip-embedding")
    app.add_typer(dino_app, name="dino-embedding")
    app.add_typer(exif_app, name="exif")
    app.add_typer(face_detection_app, name="face-detection")
    app.add_typer(face_embedding_app, name="face-embedding")
    app.add_typer(hash_app, name="hash")
    app.add_typer(hls_app, name="hls-streaming")
    app.add_typer(image_conversion_app, name="image-conversion")
    app.add_typer(media_thumbnail_app, name="media-thumbnail")
