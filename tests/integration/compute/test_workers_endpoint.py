"""``GET /workers`` with real worker processes: idle, busy with its job, and gone after leaving."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cl_client.models import WorkersResponse
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg, make_large_png
from tests.support.mosquitto import MOSQUITTO
from tests.support.stack import BrokerKind, running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def workers(url: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/workers", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    WorkersResponse.model_validate(response.json())  # the SDK's model reads it
    listed: list[dict[str, Any]] = response.json()["workers"]
    return listed


def states(url: str) -> list[tuple[str, str]]:
    return [(w["worker_id"], w["state"]) for w in workers(url)]


@pytest.mark.parametrize(
    "broker_kind",
    [
        "embedded",
        pytest.param(
            "mosquitto",
            marks=[
                pytest.mark.mosquitto,
                pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto binary not installed"),
            ],
        ),
    ],
)
def test_workers_are_listed_busy_while_running_and_gone_after_sigkill(
    tmp_path: Path, broker_kind: BrokerKind
) -> None:
    # Long enough (about 2 s to hash) to be seen busy: a worker announces a job it has run
    # for ANNOUNCE_LONG_JOB_AFTER_S, not every short one.
    big = make_large_png(tmp_path / "big.png", side=9000)
    with running_stack(tmp_path, workers=0, broker_kind=broker_kind) as stack:
        url = stack.compute_url
        alpha = stack.start_worker(["hash"], "alpha")
        stack.wait_for_workers(1)  # alpha alone serves hash, so it takes the slow job below
        beta = stack.start_worker(["exif"], "beta")
        stack.wait_for_workers(2)

        listed = workers(url)
        assert [(w["worker_id"], w["state"]) for w in listed] == [
            ("alpha", "idle"),
            ("beta", "idle"),
        ]
        first = listed[0]
        assert first["host"] == socket.gethostname()
        assert first["pid"] == alpha.process.pid
        assert first["task_types"] == ["hash"]
        assert first["current_job_id"] is None and first["current_job_ids"] == []
        assert first["jobs_done"] == first["jobs_failed"] == 0
        assert first["started_at"] <= first["last_seen"] <= int(time.time() * 1000)
        assert listed[1]["pid"] == beta.process.pid

        job_id = submit_ok(url, "hash", big)
        wait_until(lambda: workers(url)[0]["state"] == "busy", 30, "alpha never showed as busy")
        busy = workers(url)[0]
        assert (busy["current_job_id"], busy["current_job_ids"]) == (job_id, [job_id])
        assert wait_for_status(url, job_id)["status"] == "completed"
        wait_until(
            lambda: workers(url)[0]["state"] == "idle" and workers(url)[0]["jobs_done"] == 1,
            10,
            "alpha did not report the finished job",
        )

        killed_at = int(time.time() * 1000)
        alpha.kill()  # SIGKILL: no goodbye, only the broker's Last Will tells of it
        # Over TCP on one machine the broker sees the socket close at once (no keep-alive wait).
        wait_until(lambda: ("alpha", "gone") in states(url), 30, "alpha was never marked gone")
        beta_entry, gone = workers(url)
        assert (beta_entry["worker_id"], beta_entry["state"]) == ("beta", "idle")
        assert gone["worker_id"] == "alpha"
        assert gone["last_seen"] >= killed_at
        assert gone["current_job_ids"] == [] and gone["jobs_done"] == 1
        assert httpx.get(f"{url}/capabilities").json()["num_workers"] == 1

        # A graceful stop clears the worker itself.
        assert beta.terminate() == 0
        wait_until(lambda: states(url) == [("alpha", "gone"), ("beta", "gone")], 15, "beta listed")

        # The same id coming back is connected again, not gone.
        stack.start_worker(["hash"], "alpha")
        wait_until(lambda: states(url) == [("alpha", "idle"), ("beta", "gone")], 60, "no return")


def test_a_reconnect_to_the_broker_does_not_turn_workers_gone(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "r.jpg")
    with running_stack(tmp_path, workers=1, tasks=["hash"]) as stack:
        url = stack.compute_url
        worker = stack.workers[0].process
        assert states(url) == [("test-worker-1", "idle")]
        # Frozen, the worker cannot announce itself again; the embedded broker keeps nothing
        # across a restart, so the compute service reconnects to a broker that knows no worker.
        worker.send_signal(signal.SIGSTOP)
        try:
            stack.stop_broker()
            stack.start_broker()
            wait_until(
                lambda: httpx.get(f"{url}/capabilities").json()["num_workers"] == 0,
                30,
                "the compute service did not reconnect",
            )
            assert states(url) == [("test-worker-1", "idle")], "listed as it was, not gone"
        finally:
            worker.send_signal(signal.SIGCONT)
        seen: set[tuple[str, str]] = set()

        def announced_again() -> bool:
            seen.update(states(url))
            return bool(httpx.get(f"{url}/capabilities").json()["num_workers"] == 1)

        wait_until(announced_again, 30, "the worker did not announce itself again")
        assert seen == {("test-worker-1", "idle")}, "the reconnect made the worker look gone"
        job_id = submit_ok(url, "hash", image)
        assert wait_for_status(url, job_id)["status"] == "completed"
        wait_until(lambda: workers(url)[0]["jobs_done"] == 1, 15, "counters stopped updating")


def test_workers_take_the_jobs_check(tmp_path: Path) -> None:
    with running_stack(tmp_path, mode="enforced", workers=1, tasks=["hash"]) as stack:
        assert httpx.get(f"{stack.compute_url}/workers").status_code == 401
        bad = httpx.get(f"{stack.compute_url}/workers", headers={"Authorization": "Bearer x"})
        assert bad.status_code == 401
        headers = {"Authorization": f"Bearer {stack.admin_token()}"}
        listed = workers(stack.compute_url, headers)
        assert [(w["worker_id"], w["state"]) for w in listed] == [("test-worker-1", "idle")]
