"""``cl-server up`` and models: it names the plugins a missing model disables and the command
that enables each, and ``CL_PULL_MODELS=1`` (``--pull-models``) fetches them before the workers
start, here from a local server answering like the Hugging Face hub."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.support.cli_stack import cl_server_up
from tests.support.fake_hub import hub_env, serving_hub
from tests.support.jobs import submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.unit.plugins.ml_support import make_image_encoder

pytestmark = pytest.mark.acceptance

DINO_ON_HUB = "/onnx-community/dinov2-small/resolve/main/onnx/model.onnx"


def test_up_names_unavailable_plugins_and_the_command_for_each(tmp_path: Path) -> None:
    with cl_server_up(tmp_path, workers=1, tasks="hash,dino_embedding") as stack:
        assert "plugins available: hash" in stack.output
        assert "plugins unavailable" in stack.output
        line = next(line for line in stack.lines if "  dino_embedding: " in line)
        assert "worker-1: model 'dinov2-vits14' not found" in line
        assert "`cl-server models pull dinov2-vits14`" in line
        assert "cl-server up --pull-models" in stack.output
        caps = httpx.get(f"{stack.compute_url}/capabilities").json()
        assert "dino_embedding" in caps["unavailable"]


def test_pull_models_fetches_what_the_workers_need_before_they_start(tmp_path: Path) -> None:
    make_image_encoder(tmp_path / "tiny-dino.onnx", size=16, dim=8, batch=1)
    served = (tmp_path / "tiny-dino.onnx").read_bytes()
    image = make_jpeg(tmp_path / "photo.jpg")
    with serving_hub() as hub:
        hub.files[DINO_ON_HUB] = served
        env = {"CL_PULL_MODELS": "1", **hub_env(hub, str(tmp_path / "hf-cache"))}
        with cl_server_up(tmp_path, workers=1, tasks="hash,dino_embedding", extra_env=env) as stack:
            assert "pulling model dinov2-vits14" in stack.output
            assert "dinov2-vits14/model.onnx:" in stack.output  # progress
            installed = stack.data_dir / "models" / "dinov2-vits14" / "model.onnx"
            assert installed.read_bytes() == served
            assert "plugins available: dino_embedding, hash" in stack.output
            assert "plugins unavailable" not in stack.output
            job = wait_for_status(
                stack.compute_url, submit_ok(stack.compute_url, "dino_embedding", image)
            )
            assert job["status"] == "completed", job
            assert job["task_output"]["embedding_dim"] == 8
        lock = (stack.data_dir / "models" / "models.lock.json").read_text()
        assert hashlib.sha256(served).hexdigest() in lock  # trust on first use
        assert [get for get in hub.gets if DINO_ON_HUB in get]
