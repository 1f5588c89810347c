"""Plugin commands of ``cl-client`` (one sub-command group per task type).

Every file command takes the same input argument and job options (watch, timeout, output,
output dir, concurrency, priority) and runs the same way; only its own options, and how they
become form params, differ. So each command is written as a *params function*: its parameters
are the command's own typer options, its docstring is the help text, and it returns the form
params. :func:`_file_command` builds the typer command around it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, cast

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

#: Form params of one job; None values are dropped (the server applies its defaults).
Params = Mapping[str, object]


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
    params: Params | None = None,
) -> JobOptions:
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    return JobOptions(watch, timeout, output, output_dir, concurrency, priority, clean)


def _parameter(
    name: str, annotation: object, default: object = inspect.Parameter.empty
) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default
    )


def _file_command(
    app: typer.Typer,
    name: str,
    task_type: str,
    *,
    timeout: float,
    inputs: str = "images",
    concurrency: int = 4,
    watch_option: object = WatchOpt,
    leading: int = 0,
) -> Callable[[Callable[..., Params]], Callable[..., None]]:
    """Register ``<group> <name> INPUTS...`` around a params function (see the module doc).

    The command's signature, which typer reads, is ``ctx``, the input argument (named
    ``inputs``), the first ``leading`` options of the params function, the shared job options
    with this command's defaults, then the params function's other options. A ``CliError``
    from the params function (a malformed option value) exits with status 2.
    """

    def build(to_params: Callable[..., Params]) -> Callable[..., None]:
        own = list(inspect.signature(to_params, eval_str=True).parameters.values())

        def command(
            ctx: typer.Context,
            watch: bool,
            timeout: float,
            output: Path | None,
            output_dir: Path | None,
            concurrency: int,
            priority: int,
            **values: object,
        ) -> None:
            paths = cast("list[str]", values.pop(inputs))
            try:
                params = to_params(**values)
            except CliError as exc:
                fail(get_state(ctx), str(exc), 2)
            options = _options(watch, timeout, output, output_dir, concurrency, priority, params)
            _run_plugin(ctx, task_type, paths, options)

        job_options = [
            _parameter("watch", watch_option, False),
            _parameter("timeout", TimeoutOpt, timeout),
            _parameter("output", OutputOpt, None),
            _parameter("output_dir", OutputDirOpt, None),
            _parameter("concurrency", ConcurrencyOpt, concurrency),
            _parameter("priority", PriorityOpt, 5),
        ]
        head = [_parameter("ctx", typer.Context), _parameter(inputs, InputsArg), *own[:leading]]
        signature = inspect.Signature([*head, *job_options, *own[leading:]])
        command.__signature__ = signature  # pyright: ignore[reportFunctionMemberAccess]
        command.__doc__ = to_params.__doc__
        app.command(name)(command)
        return command

    return build


# ---------------------------------------------------------------------- embeddings

clip_app = typer.Typer(help="CLIP embeddings of images (and texts).", no_args_is_help=True)


@_file_command(clip_app, "embed", "clip_embedding", timeout=60.0)
def clip_embed(normalize: NormalizeOpt = None) -> Params:
    """Embed image(s); output: output/clip_embedding.npy."""
    return {"normalize": normalize}


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


@_file_command(dino_app, "embed", "dino_embedding", timeout=60.0)
def dino_embed(normalize: NormalizeOpt = None) -> Params:
    """Embed image(s); output: output/dino_embedding.npy."""
    return {"normalize": normalize}


face_embedding_app = typer.Typer(help="Embeddings of face images.", no_args_is_help=True)


@_file_command(face_embedding_app, "embed", "face_embedding", timeout=60.0)
def face_embed(normalize: NormalizeOpt = None) -> Params:
    """Embed face image(s); output: output/face_embedding.npy."""
    return {"normalize": normalize}


# ---------------------------------------------------------------------- analysis

exif_app = typer.Typer(help="EXIF and other metadata.", no_args_is_help=True)


@_file_command(exif_app, "extract", "exif", timeout=30.0)
def exif_extract(
    tags: Annotated[
        str | None, typer.Option("--tags", help="Comma-separated tag names (default: all).")
    ] = None,
) -> Params:
    """Extract metadata; output: output/exif_metadata.json."""
    return {"tags": tags}


face_detection_app = typer.Typer(help="Face detection with aligned crops.", no_args_is_help=True)


@_file_command(face_detection_app, "detect", "face_detection", timeout=30.0)
def face_detect(
    confidence_threshold: Annotated[
        float | None, typer.Option("--confidence-threshold", min=0.0, max=1.0)
    ] = None,
    nms_threshold: Annotated[
        float | None, typer.Option("--nms-threshold", min=0.0, max=1.0)
    ] = None,
) -> Params:
    """Detect faces; output: output/face_detection.json and faces/face_<i>.png."""
    return {"confidence_threshold": confidence_threshold, "nms_threshold": nms_threshold}


class HashAlgorithm(StrEnum):
    sha512 = "sha512"
    md5 = "md5"


hash_app = typer.Typer(help="Content hashes.", no_args_is_help=True)


@_file_command(hash_app, "compute", "hash", timeout=30.0)
def hash_compute(
    algorithm: Annotated[HashAlgorithm | None, typer.Option("--algorithm")] = None,
) -> Params:
    """Hash file(s); output: output/hash.json."""
    return {"algorithm": algorithm.value if algorithm else None}


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


@_file_command(
    hls_app, "generate-manifest", "hls_streaming", timeout=120.0, inputs="videos", concurrency=2
)
def hls_generate(
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="HEIGHT:KBPS, repeatable (default 720:3500 and 480:1500)."),
    ] = None,
    include_original: Annotated[
        bool | None, typer.Option("--include-original/--no-original")
    ] = None,
) -> Params:
    """Transcode video(s) to HLS; -o saves output/adaptive.m3u8, --output-dir saves all."""
    variants = json.dumps([parse_variant(v) for v in variant]) if variant else None
    return {"variants": variants, "include_original": include_original}


class ImageFormat(StrEnum):
    png = "png"
    jpg = "jpg"
    jpeg = "jpeg"
    webp = "webp"
    gif = "gif"
    bmp = "bmp"
    tiff = "tiff"


image_conversion_app = typer.Typer(help="Image format conversion.", no_args_is_help=True)


@_file_command(image_conversion_app, "convert", "image_conversion", timeout=60.0, leading=2)
def image_convert(
    output_format: Annotated[ImageFormat, typer.Option("--format", "-f", help="Target format.")],
    quality: Annotated[int, typer.Option("--quality", "-q", min=1, max=100)] = 85,
) -> Params:
    """Convert image(s); output: output/converted_<name>.<ext>."""
    return {"format": output_format.value, "quality": quality}


media_thumbnail_app = typer.Typer(
    help="Thumbnails of images and key-frame mosaics of videos.", no_args_is_help=True
)


@_file_command(
    media_thumbnail_app,
    "generate",
    "media_thumbnail",
    timeout=60.0,
    inputs="media",
    watch_option=WatchLongOpt,  # -w is --width here
    leading=2,
)
def thumbnail_generate(
    width: Annotated[int, typer.Option("--width", "-w", min=1, help="Box width in pixels.")],
    height: Annotated[int, typer.Option("--height", "-h", min=1, help="Box height in pixels.")],
    keep_aspect: Annotated[
        bool | None, typer.Option("--keep-aspect/--stretch", help="Keep the aspect ratio.")
    ] = None,
) -> Params:
    """Thumbnail(s) inside WIDTH x HEIGHT; output: output/thumbnail.jpg."""
    return {"width": width, "height": height, "maintain_aspect_ratio": keep_aspect}


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
