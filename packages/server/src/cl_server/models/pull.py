"""``models pull``: download a model's files, verify SHA-256, install atomically.

Every file is first downloaded into a staging directory beside the destination (same filesystem),
checked against its pinned SHA-256, and only when all files of the model verified are they moved
into ``<dest>/<model name>/`` with ``Path.replace`` (atomic per file). A failed or corrupted
download leaves the destination as it was.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cl_server.errors import ClServerError
from cl_server.models.registry import ModelFile, ModelInfo

ProgressCallback = Callable[[str, int, int | None], None]
"""``(file name, bytes done, total bytes or None)``."""

_CHUNK = 1 << 16


class PullError(ClServerError):
    """A model could not be downloaded or did not verify; nothing was installed."""


@dataclass(frozen=True)
class PullResult:
    model_dir: Path
    downloaded: tuple[str, ...]
    already_present: tuple[str, ...]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, name: str, on_progress: ProgressCallback | None) -> str:
    """Stream ``url`` into ``target``; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(name, done, total)
    except urllib.error.HTTPError as exc:
        raise PullError(f"{name}: download from {url} failed: HTTP {exc.code}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
        raise PullError(f"{name}: download from {url} failed: {exc}") from exc
    if total is not None and done != total:
        raise PullError(f"{name}: download from {url} ended after {done} of {total} bytes")
    return digest.hexdigest()


def _expected_sha(file: ModelFile, overrides: Mapping[str, str]) -> str:
    expected = overrides.get(file.name) or file.sha256
    if expected is None:
        raise PullError(
            f"{file.name}: no SHA-256 is pinned for this file; pass --sha256 {file.name}=<hex> "
            "with the checksum published by the source"
        )
    return expected.lower()


def pull_model(
    model: ModelInfo,
    dest_root: Path,
    *,
    sha256_overrides: Mapping[str, str] | None = None,
    url_overrides: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> PullResult:
    """Download every file of ``model`` missing (or corrupt) in ``dest_root/<model name>/``."""
    shas = dict(sha256_overrides or {})
    urls = dict(url_overrides or {})
    model_dir = dest_root / model.name
    todo: list[tuple[ModelFile, str, str]] = []
    present: list[str] = []
    for file in model.files:
        expected = _expected_sha(file, shas)
        existing = model_dir / file.name
        if existing.is_file() and sha256_of(existing) == expected:
            present.append(file.name)
            continue
        url = urls.get(file.name) or file.url
        if url is None:
            raise PullError(f"{file.name}: no download URL is known; pass --url {file.name}=<url>")
        todo.append((file, url, expected))
    if not todo:
        return PullResult(model_dir, (), tuple(present))

    dest_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}.partial-", dir=dest_root))
    try:
        for file, url, expected in todo:
            actual = _download(url, staging / file.name, file.name, on_progress)
            if actual != expected:
                raise PullError(
                    f"{file.name}: SHA-256 mismatch (expected {expected}, got {actual}); "
                    "the download is corrupt or the source changed, nothing was installed"
                )
        model_dir.mkdir(parents=True, exist_ok=True)
        for file, _url, _expected in todo:
            (staging / file.name).replace(model_dir / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PullResult(model_dir, tuple(f.name for f, _u, _e in todo), tuple(present))
