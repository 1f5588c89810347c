"""Uploads stream straight into the job directory, and a refused upload leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.support.jobs import get_job, submit, submit_ok
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def job_dirs(stack: Stack) -> set[str]:
    root = stack.data_dir / "compute" / "jobs"
    return {entry.name for entry in root.iterdir()} if root.exists() else set()


def stored_input(stack: Stack, job_id: str) -> Path:
    params = get_job(stack.compute_url, job_id)["params"]
    return stack.data_dir / "compute" / "jobs" / job_id / params["input_path"]


def test_large_upload_is_stored_whole_without_the_system_temp_dir(
    noauth_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Starlette's form parser spools anything over 1 MiB into the system temp directory; pointing
    # that at a directory that does not exist proves the upload never goes through it.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-dir"))
    source = tmp_path / "clip.bin"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 17))
    with source.open("rb") as handle:
        response = httpx.post(
            f"{noauth_stack.compute_url}/jobs/hash",
            files={"file": ("clip.bin", handle, "application/octet-stream")},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    stored = stored_input(noauth_stack, response.json()["job_id"])
    assert stored.name == "clip.bin"
    assert stored.read_bytes() == source.read_bytes()


def test_empty_file_is_still_an_upload(noauth_stack: Stack, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    job_id = submit_ok(noauth_stack.compute_url, "hash", empty)
    stored = stored_input(noauth_stack, job_id)
    assert stored.exists() and stored.stat().st_size == 0


def test_refused_uploads_leave_no_job_directory(noauth_stack: Stack, tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(os.urandom(2 * 1024 * 1024))
    before = job_dirs(noauth_stack)
    url = f"{noauth_stack.compute_url}/jobs/hash"

    bad_param = submit(noauth_stack.compute_url, "hash", photo, data={"algorithm": "crc"})
    assert bad_param.status_code == 422

    wrong_field = httpx.post(url, files={"image": ("p.jpg", photo.read_bytes())}, timeout=30)
    assert wrong_field.status_code == 422
    assert ["body", "file"] in [error["loc"] for error in wrong_field.json()["detail"]]

    two_files = httpx.post(
        url,
        files=[("file", ("a.jpg", b"aaa")), ("file", ("b.jpg", b"bbb"))],
        timeout=30,
    )
    assert two_files.status_code == 400
    assert two_files.json()["detail"] == "Too many files. Maximum number of files is 1."

    broken = httpx.post(
        url,
        content=b"--b0undary\r\nnot headers at all",
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        timeout=30,
    )
    assert broken.status_code == 400
    no_boundary = httpx.post(
        url, content=b"x", headers={"Content-Type": "multipart/form-data"}, timeout=30
    )
    assert no_boundary.status_code == 400
    assert no_boundary.json()["detail"] == "Missing boundary in multipart."

    assert job_dirs(noauth_stack) == before
