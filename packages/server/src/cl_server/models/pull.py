"""``models pull``: download a model's files, verify SHA-256, install atomically.

Every file is first downloaded into a staging directory beside the destination (same filesystem),
fetched through ``huggingface_hub`` for hub files (a plain URL otherwise), checked against its
pinned or locked SHA-256 (see ``cl_server.models.lock``), and only when all files of the model
verified are they moved into ``<dest>/<model name>/`` with ``Path.replace`` (atomic per file).
A failed or corrupted download leaves the destination as it was.
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
from cl_server.models.hub import HubError, fetch_hub_file
from cl_server.models.lock import LockEntry, add_to_lock, lock_key, read_lock
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


def _expected_sha(
    model: ModelInfo, file: ModelFile, overrides: Mapping[str, str], lock: dict[str, LockEntry]
) -> str | None:
    """Override, then pinned, then locked (trust on first use); ``None``: first download."""
    expected = overrides.get(file.name) or file.sha256
    if expected is None:
        entry = lock.get(lock_key(model.name, file.name))
        expected = entry.sha256 if entry is not None else None
    return expected.lower() if expected is not None else None


def _fetch(
    model_dir: Path,
    file: ModelFile,
    url: str | None,
    target: Path,
    on_progress: ProgressCallback | None,
) -> str:
    """Put ``file`` at ``target`` (from the hub cache or a plain URL); returns its SHA-256."""
    if url is None and file.hub is not None:
        try:
            cached = fetch_hub_file(file.hub, file.name, model_dir)
        except HubError as exc:
            raise PullError(str(exc)) from exc
        # A copy, not a link: the install must not change when the hub cache is pruned.
        shutil.copyfile(cached, target)
        size = target.stat().st_size
        if on_progress is not None:
            on_progress(file.name, size, size)
        return sha256_of(target)
    if url is None:
        raise PullError(f"{file.name}: no download URL is known; pass --url {file.name}=<url>")
    return _download(url, target, file.name, on_progress)


def pull_model(
    model: ModelInfo,
    dest_root: Path,
    *,
    sha256_overrides: Mapping[str, str] | None = None,
    url_overrides: Mapping[str, str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> PullResult:
    """Download every file of ``model`` missing (or corrupt) in ``dest_root/<model name>/``.

    Files with neither a pinned nor an overriding checksum are checked against the lock file in
    ``dest_root``; the first download of such a file records its SHA-256 there.
    """
    shas = dict(sha256_overrides or {})
    urls = dict(url_overrides or {})
    lock = read_lock(dest_root)
    model_dir = dest_root / model.name
    todo: list[tuple[ModelFile, str | None, str | None]] = []
    present: list[str] = []
    for file in model.files:
        expected = _expected_sha(model, file, shas, lock)
        existing = model_dir / file.name
        if expected is not None and existing.is_file() and sha256_of(existing) == expected:
            present.append(file.name)
            continue
        todo.append((file, urls.get(file.name), expected))
    if not todo:
        return PullResult(model_dir, (), tuple(present))

    dest_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.name}.partial-", dir=dest_root))
    new_locks: dict[str, str] = {}
    try:
        for file, url, expected in todo:
            actual = _fetch(model_dir, file, url or file.url, staging / file.name, on_progress)
            if expected is None:
                new_locks[lock_key(model.name, file.name)] = actual
            elif actual != expected:
                source = "pinned" if file.sha256 or file.name in shas else "locked"
                raise PullError(
                    f"{file.name}: SHA-256 mismatch (expected {expected} ({source}), got "
                    f"{actual}); the download is corrupt or the source changed, nothing was "
                    "installed"
                )
        model_dir.mkdir(parents=True, exist_ok=True)
        for file, _url, _expected in todo:
            (staging / file.name).replace(model_dir / file.name)
        add_to_lock(dest_root, new_locks)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PullResult(model_dir, tuple(f.name for f, _u, _e in todo), tuple(present))


@dataclass(frozen=True)
class VerifyResult:
    name: str
    state: str
    """``ok``, ``missing``, ``unverified`` (no checksum known) or ``mismatch``."""
    detail: str = ""


def verify_model(model: ModelInfo, dest_root: Path) -> list[VerifyResult]:
    """Check each installed file of ``model`` against its pinned or locked SHA-256."""
    lock = read_lock(dest_root)
    out: list[VerifyResult] = []
    for file in model.files:
        path = dest_root / model.name / file.name
        expected = _expected_sha(model, file, {}, lock)
        if not path.is_file():
            out.append(VerifyResult(file.name, "missing"))
        elif expected is None:
            out.append(VerifyResult(file.name, "unverified"))
        else:
            actual = sha256_of(path)
            state = "ok" if actual == expected else "mismatch"
            out.append(VerifyResult(file.name, state, f"expected {expected}, got {actual}"))
    return out
