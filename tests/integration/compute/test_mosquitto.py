"""The same job path over Mosquitto, the production broker, where it is installed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.mosquitto import MOSQUITTO
from tests.support.stack import running_stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.mosquitto,
    pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto binary not installed"),
]


def test_job_and_last_will_over_mosquitto(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=1, tasks=["hash"], broker_kind="mosquitto") as stack:
        job_id = submit_ok(stack.compute_url, "hash", make_jpeg(tmp_path / "m.jpg"))
        assert wait_for_status(stack.compute_url, job_id)["status"] == "completed"
        assert httpx.get(f"{stack.compute_url}/capabilities").json() == {
            "num_workers": 1,
            "capabilities": {"hash": 1},
            "unavailable": {},
        }
        # SIGKILL: no goodbye from the worker, so only its Last Will can clear the retained entry.
        stack.workers[0].kill()
        deadline = time.monotonic() + 90  # the broker notices after 1.5 x the 30 s keepalive
        while httpx.get(f"{stack.compute_url}/capabilities").json()["num_workers"] != 0:
            assert time.monotonic() < deadline, "Last Will never cleared the worker"
            time.sleep(0.2)
