"""Ctrl-C and a vanished server while ``cl-client`` waits on jobs.

Ctrl-C is a real SIGINT raised from inside the fake server (so asyncio's own handling of it is
what runs); a lost server is the fake refusing every connection from some request on, with or
without the MQTT monitor reporting a lost broker first.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cl_client.cli import liveness
from cl_client.cli.main import app
from cl_client.mqtt_monitor import MQTTJobMonitor
from tests.unit.client.sdk_fakes import COMPLETED, FakeComputeServer, serve_cli_from

runner = CliRunner()
RUNNING = {"status": "processing", "progress": 40}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeComputeServer:
    fake = FakeComputeServer()
    serve_cli_from(monkeypatch, fake)
    return fake


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        path = tmp_path / name
        path.write_bytes(name.encode())
        paths.append(path)
    return paths


def job_gets(server: FakeComputeServer) -> int:
    return sum(
        1
        for r in server.requests
        if r.method == "GET" and r.url.path.startswith("/jobs/") and "/files/" not in r.url.path
    )


def after(condition: Callable[[httpx.Request], bool], action: Callable[[], None]) -> Any:
    """An ``on_request`` hook that runs ``action`` once, at the first request matching."""
    fired = threading.Event()

    def hook(request: httpx.Request) -> None:
        if not fired.is_set() and condition(request):
            fired.set()
            action()

    return hook


def ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def polled_twice(server: FakeComputeServer) -> Callable[[httpx.Request], bool]:
    return lambda request: request.method == "GET" and job_gets(server) >= 2


# ---------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_watch_names_the_job_and_how_to_reattach(
    server: FakeComputeServer, images: list[Path]
) -> None:
    server.script = [RUNNING]
    server.on_request = after(polled_twice(server), ctrl_c)
    result = runner.invoke(app, ["hash", "compute", str(images[0]), "--watch"])
    assert result.exit_code == 130, result.output
    [job_id] = server.jobs
    assert f"job {job_id} submitted" in result.stderr  # the full id, before it is needed
    assert "Interrupted" in result.stderr
    assert (
        f"job {job_id} continues on the server; reattach with: cl-client jobs watch {job_id}"
        in result.stderr
    )
    assert "Traceback" not in result.output


def test_ctrl_c_with_json_and_a_custom_url(server: FakeComputeServer, images: list[Path]) -> None:
    server.script = [RUNNING]
    server.on_request = after(polled_twice(server), ctrl_c)
    args = ["--json", "--compute-url", "http://gpu-box:9000", "hash", "compute", str(images[0])]
    result = runner.invoke(app, [*args, "--watch"])
    assert result.exit_code == 130
    [job_id] = server.jobs
    assert json.loads(result.stdout) == {
        "error": "interrupted",
        "status": "interrupted",
        "job_ids": [job_id],
    }
    # without --watch too (plain waiting), with the service named in the reattach command
    server.on_request = after(polled_twice(server), ctrl_c)
    server.requests.clear()
    result = runner.invoke(app, args[1:])
    assert result.exit_code == 130
    [second] = [j for j in server.jobs if j != job_id]
    assert f"cl-client --compute-url http://gpu-box:9000 jobs watch {second}" in result.stderr


def test_ctrl_c_during_a_batch_lists_every_running_job(
    server: FakeComputeServer, images: list[Path]
) -> None:
    server.script = [RUNNING]
    submitted = lambda _r: len(server.jobs) == 3 and job_gets(server) >= 6  # noqa: E731
    server.on_request = after(submitted, ctrl_c)
    result = runner.invoke(
        app, ["hash", "compute", *(str(p) for p in images), "--watch", "-c", "3"]
    )
    assert result.exit_code == 130, result.output
    assert len(server.jobs) == 3
    for job_id in server.jobs:
        assert f"reattach with: cl-client jobs watch {job_id}" in result.stderr


def test_ctrl_c_during_jobs_watch(server: FakeComputeServer) -> None:
    job = server.add_job("hash", [RUNNING])
    server.on_request = after(polled_twice(server), ctrl_c)
    result = runner.invoke(app, ["jobs", "watch", job.job_id])
    assert result.exit_code == 130
    assert f"cl-client jobs watch {job.job_id}" in result.stderr


# ---------------------------------------------------------------------- lost server


def go_down(server: FakeComputeServer) -> Callable[[], None]:
    def down() -> None:
        server.down = True

    return down


def test_watch_notices_a_dead_server_within_ten_seconds(
    server: FakeComputeServer, images: list[Path]
) -> None:
    """Real intervals: no broker signal, the HTTP checks alone must do it."""
    server.script = [RUNNING]
    went_down: list[float] = []

    def down() -> None:
        went_down.append(time.monotonic())
        server.down = True

    server.on_request = after(polled_twice(server), down)
    result = runner.invoke(app, ["hash", "compute", str(images[0]), "--watch", "-t", "60"])
    elapsed = time.monotonic() - went_down[0]
    assert result.exit_code == 1, result.output
    [job_id] = server.jobs
    assert (
        "Error: lost the connection to the compute service at http://localhost:8002; the job "
        f"continues on the server; reattach with: cl-client jobs watch {job_id}"
    ) in result.stderr
    assert elapsed < 10, elapsed
    assert "Traceback" not in result.output


def test_broker_drop_plus_one_failed_check_is_enough(
    monkeypatch: pytest.MonkeyPatch, images: list[Path]
) -> None:
    server = FakeComputeServer()
    monitor = MQTTJobMonitor(connect=False)
    monitor._set_connected(True)  # pyright: ignore[reportPrivateUsage]
    serve_cli_from(monkeypatch, server, monitor)
    server.script = [RUNNING]
    # Slow periodic checks: only the disconnect can explain a quick verdict.
    monkeypatch.setattr(liveness, "WAITING_CHECK_S", 30.0)

    def stack_stops() -> None:
        server.down = True
        monitor._set_connected(False)  # pyright: ignore[reportPrivateUsage]

    # Shortly after the submission (from another thread, as paho reports a drop).
    server.on_submit = lambda _job: threading.Timer(0.3, stack_stops).start()
    started = time.monotonic()
    result = runner.invoke(app, ["--json", "hash", "compute", str(images[0]), "--watch"])
    assert time.monotonic() - started < 5
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout.strip().splitlines()[-1])
    assert error["error"].startswith("lost the connection to the compute service")
    assert error["job_ids"] == list(server.jobs)


def test_one_failed_check_is_not_a_lost_server(
    server: FakeComputeServer, images: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "WAITING_CHECK_S", 0.05)
    monkeypatch.setattr(liveness, "RETRY_AFTER_FAILURE_S", 0.05)
    server.script = [RUNNING] * 4 + [COMPLETED]
    blips = iter([False, True, False])  # the second watch check fails, the third answers

    def flaky(request: httpx.Request) -> None:
        if request.method == "GET" and job_gets(server) >= 3:
            server.down = next(blips, False)

    server.on_request = flaky
    result = runner.invoke(app, ["hash", "compute", str(images[0]), "--watch", "-t", "20"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "completed"


def test_batch_notices_a_dead_server(
    server: FakeComputeServer, images: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "WAITING_CHECK_S", 0.2)
    server.script = [RUNNING]
    # Down once all three submissions are answered (their GETs included).
    all_in = lambda _r: len(server.jobs) == 3 and all(j.gets for j in server.jobs.values())  # noqa: E731
    server.on_request = after(all_in, go_down(server))
    result = runner.invoke(app, ["hash", "compute", *(str(p) for p in images), "--watch"])
    assert result.exit_code == 1, result.output
    assert "lost the connection to the compute service at http://localhost:8002; 3 jobs" in (
        result.stderr
    ), result.stderr
    for job_id in server.jobs:
        assert f"reattach with: cl-client jobs watch {job_id}" in result.stderr


def test_plain_wait_reports_a_lost_server_too(
    server: FakeComputeServer, images: list[Path]
) -> None:
    server.script = [RUNNING]
    server.on_request = after(polled_twice(server), go_down(server))
    result = runner.invoke(app, ["hash", "compute", str(images[0])])
    assert result.exit_code == 1
    [job_id] = server.jobs
    assert f"the job continues on the server; reattach with: cl-client jobs watch {job_id}" in (
        result.stderr
    )


def test_server_down_before_submission_is_just_unreachable(
    server: FakeComputeServer, images: list[Path]
) -> None:
    server.down = True
    result = runner.invoke(app, ["hash", "compute", str(images[0]), "--watch"])
    assert result.exit_code == 1
    assert "cannot reach http://localhost:8002 (is the server running?)" in result.stderr
    assert "reattach" not in result.stderr


def test_a_timeout_says_the_job_goes_on(server: FakeComputeServer, images: list[Path]) -> None:
    server.script = [RUNNING]
    for extra in ([], ["--watch"]):
        result = runner.invoke(app, ["hash", "compute", str(images[0]), "-t", "0.2", *extra])
        assert result.exit_code == 1
        job_id = list(server.jobs)[-1]
        lines = result.stderr.strip().splitlines()
        assert lines[-2].startswith(f"Error: Job {job_id} timeout")
        assert lines[-1] == (
            f"job {job_id} continues on the server; reattach with: cl-client jobs watch {job_id}"
        )
