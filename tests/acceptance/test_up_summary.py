"""What ``cl-server up`` tells its user, and what its services log while clients poll."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from cl_server.auth.bootstrap import ADMIN_PASSWORD_FILE
from cl_server.logging_setup import is_polling_request
from cl_server.up import supervisor
from tests.support.cli_stack import cl_server_up
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.waiting import wait_until

pytestmark = pytest.mark.acceptance

BIN = Path(sys.executable).parent


def test_summary_names_access_mode_and_first_start_password_and_polls_stay_quiet(
    tmp_path: Path,
) -> None:
    image = make_jpeg(tmp_path / "p.jpg")
    with cl_server_up(tmp_path, workers=1, tasks="hash", admin_password=None) as stack:
        password = (stack.data_dir / ADMIN_PASSWORD_FILE).read_text().strip()
        assert "up | access          guest mode: no login needed" in stack.output
        assert f"up | admin login     admin / {password}  (generated; saved in " in stack.output

        job_id = submit_ok(stack.compute_url, "hash", image)
        assert wait_for_status(stack.compute_url, job_id)["status"] == "completed"
        for path in ("/capabilities", "/workers", f"/jobs/{job_id}", "/jobs?limit=5"):
            assert httpx.get(f"{stack.compute_url}{path}", timeout=10).status_code == 200
        httpx.get(f"{stack.compute_url}/jobs/{job_id}/files/output/hash.json", timeout=10)
        # Submissions and downloads keep their INFO access line; polling GETs do not have one.
        wait_until(lambda: "GET /jobs/" in stack.output and "/files/" in stack.output, 10,
                   "no access line for the download")  # fmt: skip
        assert '"POST /jobs/hash HTTP/1.1" 200' in stack.output
        assert f"GET /jobs/{job_id} HTTP" not in stack.output
        assert "GET /capabilities HTTP" not in stack.output
        assert "GET /workers HTTP" not in stack.output

        token = httpx.post(
            f"{stack.auth_url}/auth/token", data={"username": "admin", "password": password}
        ).json()["access_token"]
        turned_off = httpx.put(
            f"{stack.compute_url}/admin/config/guest-mode",
            data={"guest_mode": "false"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert turned_off.status_code == 200

    # Second start on the same data: enforced now, and the password is not shown again.
    with cl_server_up(tmp_path, workers=0, admin_password=None) as again:
        assert "up | access          enforced: requests need a token" in again.output
        assert password not in again.output
        assert f"up | admin login     admin / password in {again.data_dir}" in again.output


def test_up_no_auth_summary(tmp_path: Path) -> None:
    with cl_server_up(tmp_path, ["--no-auth"], workers=0) as stack:
        assert "up | access          auth disabled (--no-auth)" in stack.output
        assert "up | admin login     admin / the password given with --admin-password" in (
            stack.output
        )


def test_versions() -> None:
    for command, expected in (
        ("cl-client", f"cl-client {version('cl-client')}"),
        ("cl-server", f"cl-server {version('cl-server')} (cl-client {version('cl-client')})"),
    ):
        result = subprocess.run(
            [str(BIN / command), "--version"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected


def test_polling_paths_and_the_password_file_name() -> None:
    assert supervisor.ADMIN_PASSWORD_FILE == ADMIN_PASSWORD_FILE  # spelled out there on purpose
    for method, path, status in (
        ("GET", "/", 200),
        ("GET", "/jobs", 200),
        ("GET", "/jobs/abc", 200),
        ("GET", "/capabilities", 200),
        ("GET", "/workers", 200),
        ("GET", "/events", 200),
        ("GET", "/metrics", 200),
        ("HEAD", "/jobs/abc", 200),
    ):
        assert is_polling_request(method, path, status), (method, path)
    for method, path, status in (
        ("POST", "/jobs/hash", 200),
        ("DELETE", "/jobs/abc", 204),
        ("GET", "/jobs/abc/files/output/hash.json", 200),
        ("GET", "/jobs/abc", 404),  # errors keep their INFO line
        ("GET", "/admin/config", 200),
    ):
        assert not is_polling_request(method, path, status), (method, path)
