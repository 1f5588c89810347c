"""The file store: one directory per job, and safe resolution of download paths (§3.2, §3.6)."""

from __future__ import annotations

import shutil
from pathlib import Path

from cl_server.compute.errors import ApiError, ForbiddenError, NotFoundError

TRAVERSAL_MESSAGE = "Access denied: path traversal detected"


class JobFiles:
    def __init__(self, jobs_dir: Path) -> None:
        self.jobs_dir = jobs_dir

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def resolve_download(self, job_id: str, file_path: str) -> Path:
        """Resolve ``file_path`` inside the job directory; 403 if it escapes, symlinks included."""
        root = self.job_dir(job_id).resolve()
        try:
            # strict=False: resolve symlinks and ".." even when the target does not exist.
            target = (root / file_path).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ApiError(f"Invalid file path: {file_path}", status_code=400) from exc
        if not target.is_relative_to(root):
            raise ForbiddenError(TRAVERSAL_MESSAGE)
        if not target.exists():
            raise NotFoundError(f"File not found: {file_path}")
        if not target.is_file():
            raise ApiError(f"Not a file: {file_path}", status_code=400)
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
