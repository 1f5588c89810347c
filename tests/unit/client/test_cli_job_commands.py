"""``cl-client jobs list|cancel|retry|watch``, ``workers list``, ``--version`` and result blocks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cl_client.cli import results
from cl_client.cli.main import app
from cl_client.cli.timefmt import ago, duration, parse_since
from tests.unit.client.sdk_fakes import COMPLETED, FakeComputeServer, serve_cli_from

runner = CliRunner()
NARROW = {"COLUMNS": "80"}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeComputeServer:
    fake = FakeComputeServer()
    serve_cli_from(monkeypatch, fake)
    return fake


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend stdout is a terminal (CliRunner's is not)."""
    monkeypatch.setattr(results, "stdout_is_terminal", lambda: True)


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"jpeg")
    return path


# ---------------------------------------------------------------------- jobs list


def test_jobs_list_table_keeps_full_ids_at_80_columns(server: FakeComputeServer) -> None:
    now = int(time.time() * 1000)
    failed = server.add_job("face_detection", [{"status": "failed", "error_message": "x" * 120}])
    failed.created_at = now - 3 * 3600 * 1000
    running = server.add_job("clip_embedding", [{"status": "processing", "progress": 42}])
    running.created_at = now - 90_000
    result = invoke("jobs", "list", env=NARROW)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    lines = result.stdout.splitlines()
    assert lines[1].startswith(running.job_id)  # newest first, the id whole on one line
    assert "processing 42%" in lines[1] and "1m ago" in lines[1]
    assert any(line.startswith(failed.job_id) and "3h ago" in line for line in lines)
    assert "2 job(s)" in result.stdout


def test_jobs_list_filters_limit_and_json(server: FakeComputeServer) -> None:
    before = int(time.time() * 1000)
    for i in range(5):
        server.add_job("hash", [COMPLETED]).created_at = before - i * 1000
    server.add_job("hash", [COMPLETED])  # years old: --since 2h leaves it out
    result = invoke("jobs", "list", "--status", "completed", "-s", "failed", "--task-type",
                    "hash", "--since", "2h", "--limit", "3", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    jobs = json.loads(result.stdout)
    assert len(jobs) == 3 and all(job["status"] == "completed" for job in jobs)
    query = server.list_queries[0]
    assert query["status"] == ["completed", "failed"] and query["task_type"] == ["hash"]
    assert query["limit"] == ["3"]  # one page is enough for --limit 3
    assert abs(before - 2 * 3600_000 - int(query["created_after"][0])) < 60_000
    assert len(server.list_queries) == 1
    # the global --json does the same
    assert len(json.loads(invoke("--json", "jobs", "list", "-n", "2").stdout)) == 2


def test_jobs_list_usage_errors_and_empty(server: FakeComputeServer) -> None:
    assert invoke("jobs", "list", "--status", "sleeping").exit_code == 2
    result = invoke("jobs", "list", "--since", "yesterday-ish")
    assert result.exit_code == 2 and "--since" in result.stderr
    assert server.list_queries == []
    result = invoke("jobs", "list")
    assert result.exit_code == 0 and result.stdout.strip() == "no jobs"


def test_jobs_list_on_an_older_server(server: FakeComputeServer) -> None:
    original = server.handle

    def old(request: Any) -> Any:
        if request.url.path in ("/jobs", "/workers"):
            import httpx

            return httpx.Response(404, json={"detail": "Not Found"})
        return original(request)

    server.handle = old  # type: ignore[method-assign]
    result = invoke("jobs", "list")
    assert result.exit_code == 1 and "predates that API" in result.stderr
    result = invoke("workers", "list")
    assert result.exit_code == 1 and "cannot list workers" in result.stderr


def test_time_helpers() -> None:
    now = 1_700_000_000_000
    assert parse_since("30m", now) == now - 1_800_000
    assert parse_since("1h30m", now) == now - 5_400_000
    assert parse_since("2d", now) == now - 2 * 86_400_000
    assert parse_since("2026-01-24T10:30:00+00:00") == 1_769_250_600_000
    assert ago(now - 2000, now) == "just now"
    assert ago(now - 42_000, now) == "42s ago"
    assert ago(now - 5 * 3600_000, now) == "5h ago"
    assert ago(now - 3 * 86_400_000, now) == "3d ago"
    assert ago(None) == "-"
    assert duration(0, 400) == "0.4s" and duration(0, 185_000) == "3m05s"
    assert duration(None, 5) == "-"


# ---------------------------------------------------------------------- cancel / retry


def test_cancel_and_retry_commands(server: FakeComputeServer) -> None:
    job = server.add_job("hash", [{"status": "processing", "progress": 20}])
    result = invoke("jobs", "cancel", job.job_id)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Cancelled job {job.job_id} (hash)"
    result = invoke("jobs", "cancel", job.job_id)
    assert result.exit_code == 1
    assert f"cannot cancel job {job.job_id}: Job {job.job_id} is already cancelled" in (
        result.stderr
    )
    result = invoke("jobs", "retry", job.job_id)
    assert result.exit_code == 0, result.output
    assert f"Job {job.job_id} (hash) is queued again" in result.stdout
    assert f"cl-client jobs watch {job.job_id}" in result.stdout
    result = invoke("--json", "jobs", "retry", job.job_id)
    assert result.exit_code == 1
    assert "only failed or cancelled" in json.loads(result.stdout)["error"]
    result = invoke("--json", "jobs", "cancel", job.job_id)
    assert json.loads(result.stdout)["status"] == "cancelled"
    result = invoke("jobs", "cancel", "no-such-job")
    assert result.exit_code == 1 and "job no-such-job not found" in result.stderr


# ---------------------------------------------------------------------- jobs watch


def test_jobs_watch_follows_a_running_job_to_its_result(
    server: FakeComputeServer, terminal: None
) -> None:
    job = server.add_job(
        "face_detection",
        [
            {"status": "processing", "progress": 30},
            {"status": "processing", "progress": 70},
            {"status": "completed", "progress": 100, "task_output": {
                "faces": [{"confidence": 0.97, "file_path": "faces/face_0.png"}],
                "num_faces": 1, "image_width": 640, "image_height": 480}},
        ],
    )  # fmt: skip
    result = invoke("jobs", "watch", job.job_id, env=NARROW)
    assert result.exit_code == 0, result.output
    assert "100%" in result.stderr and "eta" in result.stderr  # bar with time remaining
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"job {job.job_id}  face_detection  completed")
    assert "faces: 1 in a 640 x 480 image" in result.stdout
    assert "faces/face_0.png  confidence 0.97" in result.stdout
    assert "output/face_detection.json" in result.stdout


def test_jobs_watch_finished_failed_and_unknown_jobs(server: FakeComputeServer) -> None:
    done = server.add_job("hash", [COMPLETED])
    result = invoke("jobs", "watch", done.job_id)
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "completed"
    failed = server.add_job("exif", [{"status": "failed", "error_message": "bad file"}])
    result = invoke("jobs", "watch", failed.job_id)
    assert result.exit_code == 1
    assert f"Error: job {failed.job_id} failed: bad file" in result.stderr
    result = invoke("jobs", "watch", "missing")
    assert result.exit_code == 1 and "job missing not found" in result.stderr


# ---------------------------------------------------------------------- result blocks


def test_single_job_prints_the_result_at_a_terminal(
    server: FakeComputeServer, image: Path, tmp_path: Path, terminal: None
) -> None:
    server.job_files = {"output/hash.json": b'{"hash_value": "9f86d0", "algorithm": "md5"}'}
    server.script = [
        {"status": "queued"},
        {**COMPLETED, "started_at": 1_700_000_000_000, "completed_at": 1_700_000_000_400},
    ]
    out = tmp_path / "o"
    result = invoke("hash", "compute", str(image), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("  hash  completed in 0.4s") and lines[0].startswith("job ")
    assert "  hash:  md5  9f86d0" in lines
    assert "  media: image" in lines
    assert "  file:  output/hash.json" in lines
    assert f"  saved: {out / 'photo' / 'hash.json'}" in lines
    assert "{" not in result.stdout  # no JSON for people


def test_piped_single_job_keeps_json_on_stdout_and_shows_the_block_on_stderr(
    server: FakeComputeServer, image: Path
) -> None:
    server.script = [
        {"status": "queued"},
        {"status": "completed", "progress": 100,
         "task_output": {"embedding_dim": 512, "normalized": True}},
    ]  # fmt: skip
    result = invoke("clip-embedding", "embed", str(image))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["task_output"]["embedding_dim"] == 512
    assert "embedding: 512 dimensions, L2-normalized" in result.stderr
    result = invoke("--json", "clip-embedding", "embed", str(image))
    assert json.loads(result.stdout)["status"] == "completed"
    assert "embedding:" not in result.stderr  # --json is unchanged


def test_exif_and_batch_blocks(
    server: FakeComputeServer, image: Path, tmp_path: Path, terminal: None
) -> None:
    exif = {"make": "Canon", "model": "EOS R5", "date_time_original": "2024:05:01 10:00:00",
            "image_width": 8192, "image_height": 5464, "exposure_time": "1/250",
            "f_number": 4.0, "iso": 100, "focal_length": 35.0, "gps_latitude": 48.137,
            "gps_longitude": 11.575, "raw_metadata": {"Make": "Canon", "ISO": 100}}  # fmt: skip
    server.script = [{"status": "queued"}, {"status": "completed", "progress": 100,
                                            "task_output": exif}]  # fmt: skip
    other = tmp_path / "second.jpg"
    other.write_bytes(b"jpeg")
    result = invoke("exif", "extract", str(image), str(other))
    assert result.exit_code == 0, result.output
    for expected in (
        "camera:   Canon EOS R5",
        "exposure: 1/250 s  f/4  ISO 100  35 mm",
        "location: 48.137000, 11.575000",
        "tags:     2 metadata tags",
        "file:     output/exif_metadata.json",
    ):
        assert result.stdout.count(expected) == 2, result.stdout
    assert f"{image}  job " in result.stdout and f"{other}  job " in result.stdout
    assert "2 completed, 0 failed" in result.stdout


# ---------------------------------------------------------------------- workers, versions


def test_workers_list(server: FakeComputeServer) -> None:
    now = int(time.time() * 1000)
    job_id = "0f3e8a52-1111-4222-8333-944455556666"
    server.workers = [
        {"worker_id": "worker-1", "state": "busy", "host": "box", "pid": 41,
         "task_types": ["hash", "exif"], "current_job_ids": [job_id], "jobs_done": 12,
         "jobs_failed": 1, "last_seen": now - 3000, "execution_provider": "CPUExecutionProvider",
         "unavailable": {"clip_embedding": "model 'mobileclip-s2' not found"}},
        {"worker_id": "worker-2", "state": "gone", "task_types": ["hash"],
         "last_seen": now - 600_000},
    ]  # fmt: skip
    result = invoke("workers", "list", env=NARROW)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "worker-1  busy  box:41  last seen just now"
    assert f"  running:     {job_id}" in lines
    assert "  jobs:        12 done, 1 failed" in lines
    assert "  unavailable: clip_embedding: model 'mobileclip-s2' not found" in lines
    assert "worker-2  gone  left 10m ago" in lines
    assert lines[-1] == "0 idle, 1 busy, 1 gone"
    workers = json.loads(invoke("workers", "list", "--json").stdout)
    assert [w["worker_id"] for w in workers] == ["worker-1", "worker-2"]
    server.workers = []
    assert "no workers" in invoke("workers", "list").stdout


def test_version_options() -> None:
    from importlib.metadata import version

    from cl_server.cli import app as server_app

    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"cl-client {version('cl-client')}"
    result = runner.invoke(server_app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == (
        f"cl-server {version('cl-server')} (cl-client {version('cl-client')})"
    )


def test_many_saved_files_are_summarised(
    server: FakeComputeServer, image: Path, tmp_path: Path, terminal: None
) -> None:
    faces = [{"confidence": 0.9, "file_path": f"faces/face_{i}.png"} for i in range(5)]
    server.job_files = {f"faces/face_{i}.png": b"png" for i in range(5)}
    server.job_files["output/face_detection.json"] = b"{}"
    server.script = [{"status": "queued"}, {"status": "completed", "progress": 100,
                     "task_output": {"faces": faces, "num_faces": 5}}]  # fmt: skip
    result = invoke("face-detection", "detect", str(image), "--output-dir", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert f"  saved: 6 files under {tmp_path / 'o' / 'photo'}" in result.stdout.splitlines()
    assert result.stdout.count("  face:  faces/face_") == 5
