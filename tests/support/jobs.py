"""Small synchronous helpers for talking to the compute service in tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

TERMINAL = {"completed", "failed", "error"}


def submit(
    compute_url: str,
    task_type: str,
    file_path: Path | None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    files = None
    if file_path is not None:
        files = {"file": (file_path.name, file_path.read_bytes(), "application/octet-stream")}
    return httpx.post(
        f"{compute_url}/jobs/{task_type}", data=data or {}, files=files, headers=headers, timeout=30
    )


def submit_ok(compute_url: str, task_type: str, file_path: Path | None, **kw: Any) -> str:
    response = submit(compute_url, task_type, file_path, **kw)
    assert response.status_code == 200, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def get_job(compute_url: str, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = httpx.get(f"{compute_url}/jobs/{job_id}", headers=headers, timeout=10)
    response.raise_for_status()
    job: dict[str, Any] = response.json()
    return job


def wait_for_status(
    compute_url: str,
    job_id: str,
    statuses: set[str] = TERMINAL,
    timeout: float = 60.0,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Poll the job until its status is in ``statuses`` (a short interval: real work is fast)."""
    deadline = time.monotonic() + timeout
    job = get_job(compute_url, job_id, headers)
    while job["status"] not in statuses:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s: {job}")
        time.sleep(0.02)
        job = get_job(compute_url, job_id, headers)
    return job
