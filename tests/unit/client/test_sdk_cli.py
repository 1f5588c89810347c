"""``cl-client`` and ``cl-admin`` argument parsing and flows, against in-memory fake services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cl_client.auth_client import AuthClient
from cl_client.cli import admin, common
from cl_client.cli.common import CliError, describe_error, expand_inputs
from cl_client.cli.jobs import unique_stems
from cl_client.cli.main import app
from cl_client.cli.plugins import parse_variant
from cl_client.compute_client import ComputeClient
from cl_client.exceptions import JobTimeoutError
from cl_client.mqtt_monitor import MQTTJobMonitor
from cl_client.session_manager import SessionManager
from tests.unit.client.sdk_fakes import COMPLETED, FakeAuthServer, FakeComputeServer

runner = CliRunner()


@pytest.fixture
def compute(monkeypatch: pytest.MonkeyPatch) -> FakeComputeServer:
    server = FakeComputeServer()
    server.job_files = {"output/hash.json": b'{"hash_value": "ab"}'}
    server.script = [{"status": "queued"}, COMPLETED]  # done at the first wait poll

    def build(**kwargs: Any) -> ComputeClient:
        kwargs["transport"] = server.transport()
        kwargs["mqtt_monitor"] = kwargs.get("mqtt_monitor") or MQTTJobMonitor(connect=False)
        return ComputeClient(**kwargs)

    monkeypatch.setattr(common, "ComputeClient", build)
    return server


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> FakeAuthServer:
    server = FakeAuthServer()

    def build(server_config: Any) -> SessionManager:
        client = AuthClient(server_config.auth_url, transport=server.transport())
        return SessionManager(server_config=server_config, auth_client=client)

    monkeypatch.setattr(common, "SessionManager", build)
    monkeypatch.setattr(
        admin, "AuthClient", lambda url: AuthClient(url, transport=server.transport())
    )
    return server


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    for name in ("a.jpg", "b.jpg", "c.png"):
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(name.encode())
        paths.append(path)
    return paths


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


def test_single_job_prints_json_and_downloads(
    compute: FakeComputeServer, images: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "hash.json"
    result = invoke(
        "hash", "compute", str(images[0]), "-o", str(out), "--output-dir", str(tmp_path / "d")
    )
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)
    assert job["status"] == "completed" and job["task_type"] == "hash"
    assert out.read_bytes() == b'{"hash_value": "ab"}'
    assert (tmp_path / "d" / "a" / "hash.json").is_file()
    assert compute.submissions[0][1] == {"priority": "5"}


def test_failed_job_exits_1(compute: FakeComputeServer, images: list[Path]) -> None:
    compute.script = [{"status": "failed", "error_message": "cannot decode image"}]
    result = invoke("exif", "extract", str(images[0]))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "failed"
    assert "cannot decode image" in result.stderr


def test_watch_single_job(compute: FakeComputeServer, images: list[Path]) -> None:
    result = invoke("hash", "compute", str(images[0]), "--watch", "-t", "10")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "completed"
    assert "100%" in result.stderr


def test_watch_timeout_exits_1(compute: FakeComputeServer, images: list[Path]) -> None:
    compute.script = [{"status": "processing", "progress": 10}]
    result = invoke("--json", "hash", "compute", str(images[0]), "--watch", "-t", "0.1")
    assert result.exit_code == 1
    error = json.loads(result.stdout.strip().splitlines()[-1])
    assert error["status"] == "failed" and "timeout" in error["error"]


def test_batch_glob_watch_output_dir_json(
    compute: FakeComputeServer, images: list[Path], tmp_path: Path
) -> None:
    pattern = str(tmp_path / "in" / "*.jpg")
    result = invoke(
        "--json",
        "hash",
        "compute",
        pattern,
        str(images[2]),
        "--watch",
        "--output-dir",
        str(tmp_path / "out"),
        "-c",
        "2",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [Path(r["file"]).name for r in rows] == ["a.jpg", "b.jpg", "c.png"]
    assert all(r["status"] == "completed" and r["error"] is None for r in rows)
    for stem in ("a", "b", "c"):
        assert (tmp_path / "out" / stem / "hash.json").is_file()
    assert len(compute.submissions) == 3


def test_batch_human_output_with_a_failure(compute: FakeComputeServer, images: list[Path]) -> None:
    def fail_b(job: Any) -> None:
        if job.params.get("priority") and "b.jpg" in str(compute.submissions[-1][2]["file"][0]):
            job.script = [{"status": "failed", "error_message": "bad b"}]

    compute.on_submit = fail_b
    result = invoke("hash", "compute", *(str(p) for p in images))
    assert result.exit_code == 1
    assert "2 completed, 1 failed" in result.stdout
    assert "bad b" in result.stdout


def test_batch_rejects_single_output_file(compute: FakeComputeServer, images: list[Path]) -> None:
    result = invoke("hash", "compute", str(images[0]), str(images[1]), "-o", "x.json")
    assert result.exit_code == 1
    assert "--output-dir" in result.stderr and "Traceback" not in result.output


def test_plugin_option_parsing(compute: FakeComputeServer, images: list[Path]) -> None:
    img = str(images[0])
    assert invoke("image-conversion", "convert", img, "-f", "webp", "-q", "70").exit_code == 0
    assert compute.submissions[-1][1] == {"priority": "5", "format": "webp", "quality": "70"}
    assert (
        invoke("media-thumbnail", "generate", img, "-w", "64", "-h", "32", "--stretch").exit_code
        == 0
    )
    assert compute.submissions[-1][1] == {
        "priority": "5",
        "width": "64",
        "height": "32",
        "maintain_aspect_ratio": "False",
    }
    assert invoke("hls-streaming", "generate-manifest", img, "--variant", "360:800").exit_code == 0
    assert json.loads(compute.submissions[-1][1]["variants"]) == [
        {"resolution": 360, "bitrate": 800}
    ]
    assert invoke("face-detection", "detect", img, "--nms-threshold", "0.3").exit_code == 0
    assert compute.submissions[-1][1]["nms_threshold"] == "0.3"
    assert (
        invoke("clip-embedding", "embed", img, "--no-normalize", "--priority", "8").exit_code == 0
    )
    assert compute.submissions[-1][1] == {"priority": "8", "normalize": "False"}
    assert invoke("dino-embedding", "embed", img).exit_code == 0
    assert invoke("face-embedding", "embed", img, "--normalize").exit_code == 0
    assert compute.submissions[-1][1]["normalize"] == "True"
    assert invoke("exif", "extract", img, "--tags", "Make,Model").exit_code == 0
    assert compute.submissions[-1][1]["tags"] == "Make,Model"
    assert invoke("hash", "compute", img, "--algorithm", "md5").exit_code == 0
    assert compute.submissions[-1][1]["algorithm"] == "md5"
    assert invoke("clip-embedding", "embed-text", "a cat").exit_code == 0
    assert compute.submissions[-1][0] == "clip_text_embedding"
    assert compute.submissions[-1][1]["text"] == "a cat"


@pytest.mark.parametrize(
    "args",
    [
        ["image-conversion", "convert", "IMG"],  # --format missing
        ["image-conversion", "convert", "IMG", "-f", "xyz"],
        ["image-conversion", "convert", "IMG", "-f", "png", "-q", "0"],
        ["media-thumbnail", "generate", "IMG", "-w", "10"],  # --height missing
        ["hash", "compute"],  # no input
        ["hash", "compute", "IMG", "--priority", "11"],
        ["clip-embedding", "embed-text", "  "],
    ],
)
def test_usage_errors_exit_2(
    compute: FakeComputeServer, images: list[Path], args: list[str]
) -> None:
    result = invoke(*[str(images[0]) if a == "IMG" else a for a in args])
    assert result.exit_code == 2
    assert compute.submissions == []


def test_bad_variant_and_missing_inputs(compute: FakeComputeServer, tmp_path: Path) -> None:
    result = invoke("hls-streaming", "generate-manifest", "v.mp4", "--variant", "720p")
    assert result.exit_code == 2 and "HEIGHT:KBPS" in result.stderr
    result = invoke("hash", "compute", str(tmp_path / "nope.jpg"))
    assert result.exit_code == 1 and "file not found" in result.stderr
    result = invoke("hash", "compute", str(tmp_path / "*.gif"))
    assert result.exit_code == 1 and "no files match" in result.stderr
    result = invoke("hash", "compute", str(tmp_path))
    assert result.exit_code == 1 and "is a directory" in result.stderr
    assert compute.submissions == []


def test_unreachable_server_one_line(monkeypatch: pytest.MonkeyPatch, images: list[Path]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed", request=request)

    def build(**kwargs: Any) -> ComputeClient:
        return ComputeClient(
            **{**kwargs, "mqtt_monitor": MQTTJobMonitor(connect=False)},
            transport=httpx.MockTransport(refuse),
        )

    monkeypatch.setattr(common, "ComputeClient", build)
    result = invoke("--compute-url", "http://127.0.0.1:9", "hash", "compute", str(images[0]))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "Error: cannot reach http://127.0.0.1:9 (is the server running?): "
        "All connection attempts failed"
    ]
    result = invoke("--json", "--compute-url", "http://127.0.0.1:9", "jobs", "get", "x")
    assert json.loads(result.stdout) == {
        "error": "cannot reach http://127.0.0.1:9 (is the server running?): "
        "All connection attempts failed",
        "status": "failed",
    }


def test_wrong_credentials_one_line(
    compute: FakeComputeServer, auth: FakeAuthServer, images: list[Path]
) -> None:
    result = invoke("--username", "admin", "--password", "bad", "hash", "compute", str(images[0]))
    assert result.exit_code == 1
    assert "login failed for user 'admin'" in result.stderr
    assert "Incorrect username or password" in result.stderr
    assert "Traceback" not in result.output and compute.submissions == []


def test_credentials_from_env_send_token(
    compute: FakeComputeServer, auth: FakeAuthServer, images: list[Path]
) -> None:
    env = {"CL_USERNAME": "admin", "CL_PASSWORD": "secret"}
    assert invoke("hash", "compute", str(images[0]), env=env).exit_code == 0
    assert compute.requests[0].headers["authorization"] == f"Bearer {auth.issued[-1]}"
    assert invoke("--no-auth", "hash", "compute", str(images[0]), env=env).exit_code == 0
    assert "authorization" not in compute.requests[-1].headers


def test_jobs_download_and_compute_commands(compute: FakeComputeServer, tmp_path: Path) -> None:
    job = compute.add_job("hash", [COMPLETED])
    result = invoke("jobs", "get", job.job_id)
    assert result.exit_code == 0 and json.loads(result.stdout)["job_id"] == job.job_id
    result = invoke("jobs", "wait", job.job_id, "-t", "5")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "completed"
    dest = tmp_path / "h.json"
    result = invoke("download", job.job_id, "output/hash.json", str(dest))
    assert result.exit_code == 0 and dest.read_bytes() == b'{"hash_value": "ab"}'
    assert "Downloaded output/hash.json" in result.stdout
    result = invoke("--json", "download", job.job_id, "output/hash.json", str(dest))
    assert json.loads(result.stdout)["size"] == dest.stat().st_size
    result = invoke("download", job.job_id, "output/nothing.bin", str(tmp_path / "n"))
    assert result.exit_code == 1 and "File not found" in result.stderr
    result = invoke("compute", "capabilities")
    assert result.exit_code == 0 and "hash" in result.stdout and "1 worker(s)" in result.stdout
    result = invoke("--json", "compute", "capabilities")
    assert json.loads(result.stdout) == {
        "num_workers": 1,
        "capabilities": {"hash": 1},
        "unavailable": {},
    }
    result = invoke("compute", "info")
    assert json.loads(result.stdout)["status"] == "healthy"
    result = invoke("jobs", "delete", job.job_id)  # no --yes, no input: aborted
    assert result.exit_code == 1 and job.job_id in compute.jobs
    result = invoke("jobs", "delete", job.job_id, "-y")
    assert result.exit_code == 0 and job.job_id not in compute.jobs
    result = invoke("--json", "jobs", "delete", job.job_id, "-y")
    assert result.exit_code == 1 and "not found" in json.loads(result.stdout)["error"]


def test_download_default_destination(
    compute: FakeComputeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = compute.add_job("hash", [COMPLETED])
    monkeypatch.chdir(tmp_path)
    result = invoke("download", job.job_id, "output/hash.json")
    assert result.exit_code == 0 and (tmp_path / "hash.json").is_file()


def test_user_commands(auth: FakeAuthServer) -> None:
    creds = ["--username", "admin", "--password", "secret"]
    result = invoke(*creds, "user", "create", "bob", "pw", "-p", "a", "-p", "b")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["permissions"] == ["a", "b"]
    result = invoke(*creds, "user", "list")
    assert result.exit_code == 0 and "bob" in result.stdout and "admin" in result.stdout
    result = invoke(*creds, "--json", "user", "list", "--skip", "1")
    assert [u["username"] for u in json.loads(result.stdout)] == ["bob"]
    result = invoke(*creds, "user", "get", "2")
    assert json.loads(result.stdout)["username"] == "bob"
    result = invoke(*creds, "user", "update", "2", "--admin", "--inactive", "-p", "x")
    user = json.loads(result.stdout)
    assert user["is_admin"] is True and user["is_active"] is False and user["permissions"] == ["x"]
    assert invoke(*creds, "user", "delete", "2", "-y").exit_code == 0
    assert 2 not in auth.users
    result = invoke(*creds, "--json", "user", "delete", "5", "--yes")
    assert result.exit_code == 1 and "not found" in json.loads(result.stdout)["error"]
    result = invoke("user", "list")
    assert result.exit_code == 1 and "--username" in result.stderr
    result = invoke("--username", "bob2", "--password", "x", "user", "list")
    assert result.exit_code == 1 and "login failed" in result.stderr


def test_user_permission_denied(auth: FakeAuthServer) -> None:
    auth.passwords["eve"] = "pw"
    auth.users[7] = {**auth.users[1], "id": 7, "username": "eve", "is_admin": False}
    result = invoke("--username", "eve", "--password", "pw", "user", "list")
    assert result.exit_code == 1
    assert "permission denied (403)" in result.stderr


def test_helpers(tmp_path: Path) -> None:
    assert unique_stems([Path("a/x.jpg"), Path("b/x.png"), Path("y.jpg"), Path("c/x.gif")]) == [
        "x",
        "x-2",
        "y",
        "x-3",
    ]
    assert parse_variant("720:3500") == {"resolution": 720, "bitrate": 3500}
    with pytest.raises(CliError):
        parse_variant("720")
    (tmp_path / "s").mkdir()
    for name in ("1.jpg", "2.jpg"):
        (tmp_path / "s" / name).write_bytes(b"x")
    found = expand_inputs([str(tmp_path / "s" / "*.jpg"), str(tmp_path / "s" / "1.jpg")])
    assert [p.name for p in found] == ["1.jpg", "2.jpg"]
    assert "timeout" in describe_error(JobTimeoutError("j", 1.0))
    assert describe_error(httpx.ReadTimeout("slow")).startswith("request timed out")
    assert describe_error(httpx.RemoteProtocolError("x")).startswith("HTTP error")
    assert describe_error(RuntimeError()) == "RuntimeError"
