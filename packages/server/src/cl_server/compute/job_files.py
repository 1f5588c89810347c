"""The file store: one directory per job, and safe resolution of download paths (§3.2, §3.6)."""

from __future__ import annotations

import shutil
from pathlib import Path

from cl_server.compute.errors import ApiError, ForbiddenError, NotFoundError

TRAVERSAL_MESSAGE = "Access denied: path traversal detected"


_SHOWN_PATH_CHARS = 200
_NAME_MAX = 255  # bytes of one path component (Linux, macOS, every common filesystem)
_PATH_MAX = 4096  # bytes of a whole path (Linux)


def _name_too_long(file_path: str) -> bool:
    """A component longer than any file name: refused whether or not its directory exists."""
    return any(len(part) > _NAME_MAX for part in file_path.encode(errors="replace").split(b"/"))


def _shown(file_path: str) -> str:
    """``file_path`` as echoed in an error message: long paths are cut, not sent back whole."""
    if len(file_path) <= _SHOWN_PATH_CHARS:
        return file_path
    return f"{file_path[:_SHOWN_PATH_CHARS]}... ({len(file_path)} characters)"


def _invalid_path(file_path: str) -> ApiError:
    """400 for a path that cannot be resolved: too long, a NUL byte, a symlink loop..."""
    return ApiError(f"Invalid file path: {_shown(file_path)}", status_code=400)


class JobFiles:
    def __init__(self, jobs_dir: Path) -> None:
        self.jobs_dir = jobs_dir

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def resolve_download(self, job_id: str, file_path: str) -> Path:
        """Resolve ``file_path`` inside the job directory; 403 if it escapes, symlinks included."""
        if _name_too_long(file_path):
            raise _invalid_path(file_path)
        root = self.job_dir(job_id).resolve()
        try:
            # strict=False: resolve symlinks and ".." even when the target does not exist.
            target = (root / file_path).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise _invalid_path(file_path) from exc
        if not target.is_relative_to(root):
            raise ForbiddenError(TRAVERSAL_MESSAGE)
        if len(bytes(target)) > _PATH_MAX:
            raise _invalid_path(file_path)
        try:
            # exists() raises for what the OS refuses to look up (ENAMETOOLONG, EACCES...).
            exists, is_file = target.exists(), target.is_file()
        except (OSError, ValueError) as exc:
            raise _invalid_path(file_path) from exc
        if not exists:
            raise NotFoundError(f"File not found: {_shown(file_path)}")
        if not is_file:
            raise ApiError(f"Not a file: {_shown(file_path)}", status_code=400)
        return target

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def remove_measured(self, job_id: str) -> int:
        """Delete a job's directory; returns the bytes freed (walks the tree first)."""
        size = directory_size(self.job_dir(job_id))
        self.remove(job_id)
        return size

    def total_size(self) -> int:
        return directory_size(self.jobs_dir)


def directory_size(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    total = 0
    for path in directory.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue  # removed while walking
    return total
