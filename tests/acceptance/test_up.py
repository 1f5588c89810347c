"""``cl-server up``: one command brings the whole stack up, and Ctrl-C takes it down."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.cli_stack import cl_server_up
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg

pytestmark = pytest.mark.acceptance


def test_up_runs_a_hash_job_and_stops_cleanly(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "readme.jpg")
    with cl_server_up(tmp_path, workers=2, tasks="hash,exif") as stack:
        children = psutil.Process(stack.process.pid).children(recursive=True)
        assert len(children) >= 5  # broker, auth, compute, two workers

        assert "plugins available: exif, hash" in stack.output
        caps = httpx.get(f"{stack.compute_url}/capabilities").json()
        assert caps["num_workers"] == 2

        token = httpx.post(
            f"{stack.auth_url}/auth/token",
            data={"username": "admin", "password": stack.admin_password},
        )
        assert token.status_code == 200

        job_id = submit_ok(stack.compute_url, "hash", image)
        job = wait_for_status(stack.compute_url, job_id, timeout=60)
        assert job["status"] == "completed"
        assert (stack.data_dir / "compute" / "jobs" / job_id / "output" / "hash.json").is_file()
        assert (stack.data_dir / "auth.db").is_file()
        assert (stack.data_dir / "compute.db").is_file()
    assert stack.process.returncode == 0, stack.output
    time.sleep(0.1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    for prefix in ("broker |", "auth |", "compute |", "worker-1 |", "worker-2 |"):
        assert prefix in stack.output


def test_up_no_auth_and_generated_admin_password(tmp_path: Path) -> None:
    with cl_server_up(tmp_path, ["--no-auth"], workers=0, admin_password=None) as stack:
        info = httpx.get(f"{stack.compute_url}/").json()
        assert info["auth_required"] is False
        password_file = stack.data_dir / "admin-password.txt"
        password = password_file.read_text().strip()
        assert password and password != "admin"
        assert password_file.stat().st_mode & 0o077 == 0
        assert password in stack.output  # printed once at first start
        login = httpx.post(
            f"{stack.auth_url}/auth/token", data={"username": "admin", "password": password}
        )
        assert login.status_code == 200
    assert stack.process.returncode == 0
