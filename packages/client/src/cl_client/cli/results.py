"""What a finished job found, as a short block of text (human mode of the CLI).

One block per job: a header with the full job id, task type and how long it ran, then the
answer the user came for (the hash, the number of faces, the embedding's size, the camera and
exposure, ...), then the job's output files (job-relative, for ``cl-client download``) and the
local copies saved by ``-o``/``--output-dir``.

The hash itself is not in ``task_output`` (PROTOCOL §4.2): it is read from ``output/hash.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import typer

from cl_client.cli.common import CliState, print_json, stdout_is_terminal
from cl_client.cli.timefmt import duration
from cl_client.compute_client import ComputeClient
from cl_client.exceptions import ComputeClientError
from cl_client.models import JobResponse
from cl_client.outputs import primary_output_file

Facts = list[tuple[str, str]]
_HASH_FILE = "output/hash.json"


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _embedding(output: Mapping[str, object]) -> Facts:
    dim = output.get("embedding_dim")
    size = f"{dim} dimensions" if dim is not None else "vector"
    normalized = output.get("normalized")
    if normalized is not None:
        size += ", L2-normalized" if normalized else ", not normalized"
    facts: Facts = [("embedding", size)]
    quality = output.get("quality_score")
    if isinstance(quality, int | float):
        facts.append(("quality", f"{quality:.2f}"))
    return facts


def _exif(output: Mapping[str, object]) -> Facts:
    facts: Facts = []
    camera = " ".join(t for t in (_text(output.get("make")), _text(output.get("model"))) if t)
    if camera:
        facts.append(("camera", camera))
    taken = _text(output.get("date_time_original")) or _text(output.get("create_date"))
    if taken:
        facts.append(("taken", taken))
    width, height = output.get("image_width"), output.get("image_height")
    if width and height:
        facts.append(("size", f"{width} x {height}"))
    exposure = [
        f"{output['exposure_time']} s" if _text(output.get("exposure_time")) else None,
        f"f/{output['f_number']:g}" if isinstance(output.get("f_number"), int | float) else None,
        f"ISO {output['iso']}" if output.get("iso") else None,
        f"{output['focal_length']:g} mm"
        if isinstance(output.get("focal_length"), int | float)
        else None,
    ]
    if any(exposure):
        facts.append(("exposure", "  ".join(e for e in exposure if e)))
    lat, lon = output.get("gps_latitude"), output.get("gps_longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        facts.append(("location", f"{lat:.6f}, {lon:.6f}"))
    software = _text(output.get("software"))
    if software:
        facts.append(("software", software))
    raw = output.get("raw_metadata")
    count = len(raw) if isinstance(raw, dict) else 0  # pyright: ignore[reportUnknownArgumentType]
    facts.append(("tags", f"{count} metadata tags" if count else "no metadata found"))
    return facts


def _faces(output: Mapping[str, object]) -> Facts:
    count = output.get("num_faces", 0)
    width, height = output.get("image_width"), output.get("image_height")
    where = f" in a {width} x {height} image" if width and height else ""
    facts: Facts = [("faces", f"{count}{where}")]
    faces = output.get("faces")
    if isinstance(faces, list):
        for face in faces:  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(face, dict):
                continue
            confidence = face.get("confidence")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            path = face.get("file_path")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            score = f"confidence {confidence:.2f}" if isinstance(confidence, float) else ""
            facts.append(("face", f"{path or '?'}  {score}".rstrip()))
    return facts


def _hls(output: Mapping[str, object]) -> Facts:
    variants = output.get("variants_generated")
    segments = output.get("total_segments")
    original = " + original" if output.get("include_original") else ""
    return [("stream", f"{variants} variant(s){original}, {segments} segment(s)")]


def _media(output: Mapping[str, object]) -> Facts:
    media = _text(output.get("media_type"))
    return [("media", media)] if media else []


def _conversion(job: JobResponse) -> Facts:
    target = _text(job.params.get("format"))
    return [("format", target)] if target else []


_SUMMARIES: dict[str, Callable[[Mapping[str, object]], Facts]] = {
    "clip_embedding": _embedding,
    "clip_text_embedding": _embedding,
    "dino_embedding": _embedding,
    "face_embedding": _embedding,
    "exif": _exif,
    "face_detection": _faces,
    "hls_streaming": _hls,
    "media_thumbnail": _media,
}


async def _hash_facts(client: ComputeClient, job: JobResponse) -> Facts:
    try:
        body: object = json.loads(await client.get_job_file_bytes(job.job_id, _HASH_FILE))
    except (ComputeClientError, ValueError, OSError):
        return []  # the block still shows the media type; the file stays downloadable
    if not isinstance(body, dict):
        return []
    value = body.get("hash_value")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    algorithm = body.get("algorithm")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return [("hash", f"{algorithm}  {value}")] if value else []


def _output_files(job: JobResponse) -> list[str]:
    """The job's main output file (HLS: the master playlist); face crops come with their faces."""
    main = primary_output_file(job)
    return [main] if main else []


async def result_lines(
    client: ComputeClient, job: JobResponse, saved: Sequence[Path] = (), title: str | None = None
) -> list[str]:
    """The block for a completed job (callers report failures themselves)."""
    took = duration(job.started_at or job.created_at, job.completed_at)
    header = f"job {job.job_id}  {job.task_type}  {job.status}"
    if took != "-":
        header += f" in {took}"
    lines = [f"{title}  {header}" if title else header]
    output: Mapping[str, object] = job.task_output or {}
    facts: Facts = []
    if job.task_type == "hash":
        facts += await _hash_facts(client, job)
        facts += _media(output)
    elif job.task_type == "image_conversion":
        facts += _conversion(job)
    else:
        summary = _SUMMARIES.get(job.task_type)
        facts += summary(output) if summary else _generic(output)
    facts += [("file", path) for path in _output_files(job)]
    facts += _saved(saved)
    width = max((len(label) for label, _ in facts), default=0)
    lines += [f"  {label + ':':<{width + 1}} {value}" for label, value in facts]
    return lines


_SAVED_SHOWN = 3


def _saved(paths: Sequence[Path]) -> Facts:
    """Local copies; many (face crops, HLS segments) become one line naming their folder."""
    if len(paths) <= _SAVED_SHOWN:
        return [("saved", str(path)) for path in paths]
    folder = Path(os.path.commonpath([os.fspath(p) for p in paths]))
    return [("saved", f"{len(paths)} files under {folder}")]


def _generic(output: Mapping[str, object]) -> Facts:
    """Scalars of an unknown task type's output, so new plugins still show something."""
    return [(k, str(v)) for k, v in output.items() if isinstance(v, str | int | float | bool)]


async def report_job(
    state: CliState, client: ComputeClient, job: JobResponse, saved: Sequence[Path] = ()
) -> None:
    """Print a finished single job.

    ``--json``: the job as JSON. Human mode at a terminal: the result block. Human mode with
    stdout piped or redirected: the job as JSON on stdout, as PROTOCOL §7.11 promises scripts,
    and the block on stderr for the person watching.
    """
    if state.json_output:
        print_json(job)
        return
    lines = await result_lines(client, job, saved) if job.status == "completed" else []
    to_terminal = stdout_is_terminal()
    if not to_terminal:
        print_json(job)
    for line in lines:
        typer.echo(line, err=not to_terminal)


def exit_status(state: CliState, job: JobResponse) -> int:
    """0 for a completed job; else 1, after one ``Error:`` line naming the reason."""
    if job.status == "completed":
        return 0
    if not state.json_output:
        reason = job.error_message or "no error message"
        typer.echo(f"Error: job {job.job_id} {job.status}: {reason}", err=True)
    return 1
