"""``cl-client`` and ``cl-admin`` as subprocesses against a stack started by ``cl-server up``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_stack import UpStack, cl_server_up, free_port
from tests.support.media import make_jpeg, make_truncated_jpeg

pytestmark = pytest.mark.acceptance

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    with cl_server_up(tmp_path_factory.mktemp("cli"), workers=2, tasks="hash,exif") as stack:
        yield stack


def cl_client(up: UpStack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [
        str(BIN / "cl-client"),
        "--compute-url", up.compute_url,
        "--auth-url", up.auth_url,
        "--mqtt-broker", "127.0.0.1",
        "--mqtt-port", str(up.mqtt_port),
        *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def test_single_hash_job_prints_json_and_saves_output(up: UpStack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "one.jpg")
    out = tmp_path / "hash.json"
    result = cl_client(up, "hash", "compute", str(image), "--algorithm", "md5", "-o", str(out))
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["status"] == "completed" and job["task_type"] == "hash"
    assert json.loads(out.read_text())["algorithm"] == "md5"
    assert "Traceback" not in result.stderr


def test_batch_of_twenty_with_watch_and_output_dir(up: UpStack, tmp_path: Path) -> None:
    inputs = tmp_path / "photos"
    inputs.mkdir()
    for i in range(20):
        make_jpeg(inputs / f"p{i:02d}.jpg", (40 + i, 30))
    out = tmp_path / "out"
    result = cl_client(
        up, "--json", "exif", "extract", str(inputs / "*.jpg"),
        "--watch", "--output-dir", str(out), "--concurrency", "4", "-t", "60",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    rows = json.loads(result.stdout)
    assert len(rows) == 20 and all(r["status"] == "completed" for r in rows)
    assert len({r["job_id"] for r in rows}) == 20
    for i in range(20):
        assert (out / f"p{i:02d}" / "exif_metadata.json").is_file()
    assert "100%" in result.stderr  # the aggregate progress bar finished


def test_failed_job_exits_1(up: UpStack, tmp_path: Path) -> None:
    broken = make_truncated_jpeg(tmp_path / "broken.jpg")
    result = cl_client(up, "exif", "extract", str(broken), "--watch")
    assert result.returncode == 1
    assert json.loads(result.stdout)["status"] == "failed"
    assert "Error: job" in result.stderr and "Traceback" not in result.stderr


def test_jobs_download_and_capabilities(up: UpStack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "d.jpg")
    job = json.loads(cl_client(up, "hash", "compute", str(image)).stdout)
    dest = tmp_path / "fetched.json"
    result = cl_client(up, "download", job["job_id"], "output/hash.json", str(dest))
    assert result.returncode == 0 and json.loads(dest.read_text())["hash_value"]
    result = cl_client(up, "--json", "jobs", "get", job["job_id"])
    assert json.loads(result.stdout)["job_id"] == job["job_id"]
    caps = json.loads(cl_client(up, "--json", "compute", "capabilities").stdout)
    assert caps["num_workers"] == 2 and set(caps["capabilities"]) == {"hash", "exif"}
    assert cl_client(up, "jobs", "delete", job["job_id"], "--yes").returncode == 0
    result = cl_client(up, "jobs", "get", job["job_id"])
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: job {job['job_id']} not found"


def test_users_with_admin_credentials_and_bad_password(up: UpStack) -> None:
    creds = ["--username", "admin", "--password", up.admin_password]
    result = cl_client(up, *creds, "user", "create", "alice", "pw", "-p", "ai_inference_support")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["permissions"] == ["ai_inference_support"]
    users = json.loads(cl_client(up, *creds, "--json", "user", "list").stdout)
    assert {"admin", "alice"} <= {u["username"] for u in users}
    admin = subprocess.run(
        [str(BIN / "cl-admin"), "--auth-url", up.auth_url, *creds, "users", "delete", "alice"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    result = cl_client(up, "--username", "admin", "--password", "wrong", "user", "list")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "login failed" in lines[0]


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "x.jpg")
    port = free_port()
    result = subprocess.run(
        [str(BIN / "cl-client"), "--compute-url", f"http://127.0.0.1:{port}", "--mqtt-port",
         str(port), "hash", "compute", str(image)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot reach" in errors[0]
    assert "Traceback" not in result.stderr
