"""Downloads never serve anything outside the job directory (PROTOCOL §3.2)."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

SECRET = "top-secret-outside-the-job"


def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (httpx would normalise ``..`` away)."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def completed_job(noauth_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    image = make_jpeg(tmp_path_factory.mktemp("files") / "a.jpg")
    job_id = submit_ok(noauth_stack.compute_url, "hash", image)
    assert wait_for_status(noauth_stack.compute_url, job_id)["status"] == "completed"
    # A secret next to the jobs directory: what a traversal would try to read.
    (noauth_stack.data_dir / "compute" / "secret.txt").write_text(SECRET)
    return job_id


@pytest.mark.parametrize(
    "suffix",
    [
        "../../secret.txt",
        "output/../../../secret.txt",
        "%2e%2e/%2e%2e/secret.txt",
        "%2E%2E%2F%2E%2E%2Fsecret.txt",
        "..%2f..%2fsecret.txt",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
    ],
)
def test_traversal_is_refused(noauth_stack: Stack, completed_job: str, suffix: str) -> None:
    status, body = raw_get(noauth_stack.compute_url, f"/jobs/{completed_job}/files/{suffix}")
    assert status in {403, 404}, (status, body)
    assert SECRET.encode() not in body
    assert b"root:" not in body
    if status == 403:
        assert b"Access denied: path traversal detected" in body


def test_planted_symlinks_are_refused(noauth_stack: Stack, completed_job: str) -> None:
    job_dir = noauth_stack.data_dir / "compute" / "jobs" / completed_job
    secret = noauth_stack.data_dir / "compute" / "secret.txt"
    (job_dir / "output" / "link.txt").symlink_to(secret)
    (job_dir / "output" / "linkdir").symlink_to(secret.parent)
    for path in ("output/link.txt", "output/linkdir/secret.txt"):
        status, body = raw_get(noauth_stack.compute_url, f"/jobs/{completed_job}/files/{path}")
        assert status == 403, (path, status, body)
        assert SECRET.encode() not in body


def test_missing_file_and_directory(noauth_stack: Stack, completed_job: str) -> None:
    status, body = raw_get(noauth_stack.compute_url, f"/jobs/{completed_job}/files/output/none.bin")
    assert status == 404
    assert b"File not found: output/none.bin" in body
    status, _ = raw_get(noauth_stack.compute_url, f"/jobs/{completed_job}/files/output")
    assert status == 400


def test_unknown_job_files_404(noauth_stack: Stack) -> None:
    status, _ = raw_get(noauth_stack.compute_url, "/jobs/not-a-job/files/output/hash.json")
    assert status == 404


def test_input_file_is_downloadable(
    noauth_stack: Stack, completed_job: str, tmp_path: Path
) -> None:
    status, body = raw_get(noauth_stack.compute_url, f"/jobs/{completed_job}/files/input/a.jpg")
    assert status == 200
    assert body[:2] == b"\xff\xd8"
