"""A job no connected worker can run says why, and still runs once a capable worker joins.

Real stack: compute with the embedded broker, worker subprocesses, the SDK and the CLI as a
subprocess. The first worker has no CLIP model; the second gets tiny generated ONNX models with
MobileCLIP's contract (real weights are not on every machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from cl_client import ComputeClient
from cl_client.cli.liveness import WAITING_CHECK_S
from cl_client.exceptions import JobTimeoutError
from cl_client.topics import worker_topic
from tests.support.event_recorder import EventRecorder, recording_events
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack
from tests.support.waiting import wait_until
from tests.unit.plugins.ml_support import make_image_encoder, make_text_encoder, make_vocab

pytestmark = pytest.mark.integration

PULL_COMMAND = "cl-server models pull mobileclip-s2"


def tiny_clip_models(root: Path) -> Path:
    clip = root / "mobileclip-s2"
    make_image_encoder(clip / "vision_model.onnx", size=16, dim=8)
    make_text_encoder(clip / "text_model.onnx", dim=8)
    make_vocab(clip / "bpe_simple_vocab_16e6.txt.gz")
    return root


def get_job(stack: Stack, job_id: str) -> dict[str, object]:
    response = httpx.get(f"{stack.compute_url}/jobs/{job_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def cl_client(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env["COLUMNS"] = "200"  # rich wraps long lines at the terminal width
    command = [
        sys.executable, "-c", "from cl_client.cli.main import main; main()",
        "--no-auth", "--compute-url", stack.compute_url,
        "--mqtt-broker", stack.mqtt_host, "--mqtt-port", str(stack.mqtt_port),
        *args,
    ]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_queued_job_explains_itself_until_a_capable_worker_runs_it(tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "photo.jpg")
    empty_models = tmp_path / "no-models"
    empty_models.mkdir()
    with running_stack(tmp_path / "stack", mode="no-auth", workers=0) as stack:
        job_id = submit_ok(stack.compute_url, "clip_embedding", image)
        before = get_job(stack, job_id)
        assert before["status"] == "queued"
        assert before["waiting_reason"] == (
            "no connected worker serves clip_embedding: no worker is connected "
            "(start one with `cl-server worker`)"
        )

        stack.start_worker(
            ["hash", "clip_embedding"], "lacking", extra_env={"CL_MODELS_DIR": str(empty_models)}
        )
        stack.wait_for_workers(1)
        caps = httpx.get(f"{stack.compute_url}/capabilities", timeout=10).json()
        assert set(caps["capabilities"]) == {"hash"}
        reason = caps["unavailable"]["clip_embedding"]
        assert reason.startswith("lacking: model 'mobileclip-s2' not found")
        assert PULL_COMMAND in reason

        waiting = get_job(stack, job_id)
        assert waiting["status"] == "queued"
        assert waiting["waiting_reason"] == f"no connected worker serves clip_embedding: {reason}"

        _sdk_timeout_carries_the_reason(stack, job_id, waiting["waiting_reason"])
        announced: list[bytes] = []
        with recording_events(
            stack.mqtt_host,
            stack.mqtt_port,
            extra_topics=[worker_topic("able")],
            on_other=lambda topic, payload: (
                announced.append(payload) if topic == worker_topic("able") else None
            ),
        ) as recorder:
            _cli_wait_prints_the_reason(stack, image)
            watch = _Background(stack, image)
            watch.start()
            # The CLI's two jobs are queued; give --watch time for its first waiting check.
            assert recorder.wait_for(lambda: _queued_jobs(recorder) >= 2, 20), recorder.events
            threading.Event().wait(WAITING_CHECK_S + 1.5)

            stack.start_worker(
                ["clip_embedding"],
                "able",
                extra_env={"CL_MODELS_DIR": str(tiny_clip_models(tmp_path / "models"))},
            )
            done = wait_for_status(stack.compute_url, job_id)
            assert done["status"] == "completed", done
            assert done["waiting_reason"] is None
            wait_until(lambda: bool(announced), 10, "no capability message from 'able'")
        capability = json.loads(announced[-1])
        assert capability["execution_provider"] == "CPUExecutionProvider"
        assert capability["unavailable"] == {}
        caps = httpx.get(f"{stack.compute_url}/capabilities", timeout=10).json()
        assert "clip_embedding" not in caps["unavailable"]

        watch.join(90)
        assert watch.result is not None
        assert watch.result.returncode == 0, watch.result.stderr
        assert "is waiting: no connected worker serves clip_embedding: lacking:" in (
            watch.result.stderr
        )


def _sdk_timeout_carries_the_reason(stack: Stack, job_id: str, expected: object) -> None:
    async def wait() -> JobTimeoutError:
        async with ComputeClient(
            base_url=stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port
        ) as client:
            with pytest.raises(JobTimeoutError) as info:
                await client.wait_for_job(job_id, timeout=0.5)
            return info.value

    error = asyncio.run(wait())
    assert error.last_status == "queued"
    assert error.waiting_reason == expected
    assert PULL_COMMAND in str(error)


def _cli_wait_prints_the_reason(stack: Stack, image: Path) -> None:
    result = cl_client(stack, "clip-embedding", "embed", str(image), "--timeout", "1")
    assert result.returncode == 1
    assert "no connected worker serves clip_embedding: lacking:" in result.stderr
    assert PULL_COMMAND in result.stderr


class _Background(threading.Thread):
    def __init__(self, stack: Stack, image: Path) -> None:
        super().__init__(daemon=True)
        self._stack = stack
        self._image = image
        self.result: subprocess.CompletedProcess[str] | None = None

    def run(self) -> None:
        self.result = cl_client(
            self._stack, "clip-embedding", "embed", str(self._image), "--watch", "-t", "50"
        )


def _queued_jobs(recorder: EventRecorder) -> int:
    return len({e["job_id"] for e in recorder.events if e["event_type"] == "queued"})
