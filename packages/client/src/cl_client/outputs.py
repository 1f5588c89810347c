"""Which files a completed job produced, and where downloads may be written.

The compute service has no listing endpoint, so the files are derived from the job
(PROTOCOL.md §3.6, §4.1): ``params.output_path`` (a file, or for ``hls_streaming`` the
``output`` folder), face crops named in ``task_output.faces[].file_path``, and for HLS the
playlists and segments reachable from ``output/adaptive.m3u8``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import Any

from cl_client.models import JobResponse

FetchBytes = Callable[[str, str], Awaitable[bytes]]

HLS_MASTER_PLAYLIST = "output/adaptive.m3u8"


def playlist_uris(text: str) -> list[str]:
    """The URI lines of an M3U8 playlist (non-empty lines that are not ``#`` tags)."""
    uris: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            uris.append(line)
    return uris


def resolve_relative(base_file: str, uri: str) -> str | None:
    """Job-relative path of ``uri`` as referenced from ``base_file``; None for absolute URLs."""
    if "://" in uri or uri.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), uri))
    if joined.startswith("../") or joined == "..":
        return None
    return joined


def _face_files(task_output: dict[str, Any] | None) -> list[str]:
    if not task_output:
        return []
    faces: object = task_output.get("faces")
    files: list[str] = []
    if isinstance(faces, list):
        for face in faces:  # pyright: ignore[reportUnknownVariableType]
            if isinstance(face, dict):
                path: object = face.get("file_path")  # pyright: ignore[reportUnknownMemberType]
                if isinstance(path, str) and path:
                    files.append(path)
    return files


async def hls_files(job_id: str, fetch: FetchBytes, master: str = HLS_MASTER_PLAYLIST) -> list[str]:
    """Master playlist, variant playlists and segments of an HLS job, master first."""
    files: list[str] = [master]
    master_text = (await fetch(job_id, master)).decode("utf-8", errors="replace")
    for uri in playlist_uris(master_text):
        playlist = resolve_relative(master, uri)
        if playlist is None or playlist in files:
            continue
        files.append(playlist)
        if playlist.endswith(".m3u8"):
            variant_text = (await fetch(job_id, playlist)).decode("utf-8", errors="replace")
            for segment_uri in playlist_uris(variant_text):
                segment = resolve_relative(playlist, segment_uri)
                if segment is not None and segment not in files:
                    files.append(segment)
    return files


async def job_output_files(job: JobResponse, fetch: FetchBytes) -> list[str]:
    """Job-relative paths of a completed job's outputs (empty for unfinished/failed jobs)."""
    if job.status != "completed":
        return []
    output_path: object = job.params.get("output_path")
    files: list[str] = []
    if job.task_type == "hls_streaming":
        files.extend(await hls_files(job.job_id, fetch))
    elif isinstance(output_path, str) and output_path:
        files.append(output_path)
    for face in _face_files(job.task_output):
        if face not in files:
            files.append(face)
    return files


def primary_output_file(job: JobResponse) -> str | None:
    """The one file a ``-o FILE`` download means: ``params.output_path`` (HLS: the master)."""
    if job.task_type == "hls_streaming":
        return HLS_MASTER_PLAYLIST
    output_path: object = job.params.get("output_path")
    return output_path if isinstance(output_path, str) and output_path else None


def safe_destination(dest_dir: Path, relative: str) -> Path:
    """``dest_dir / relative`` after checking it cannot escape ``dest_dir``.

    Job paths come from the server; a hostile or buggy value such as ``../../.bashrc`` or an
    absolute path must not write outside the chosen folder.
    """
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ValueError(f"Refusing to write job file {relative!r} outside {dest_dir}")
    return Path(dest_dir).joinpath(*pure.parts)
