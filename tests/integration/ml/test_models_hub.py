"""``models pull`` of hub files through huggingface_hub, against a local server speaking its API."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cl_server.models import registry
from cl_server.models.cli import models_app
from cl_server.models.lock import read_lock
from cl_server.models.pull import PullError, pull_model
from cl_server.models.registry import HubFile, ModelFile, ModelInfo
from tests.support.fake_hub import Hub, serving_hub

pytestmark = pytest.mark.integration

WEIGHTS = bytes(range(256)) * 1024


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Hub]:
    with serving_hub() as state:
        monkeypatch.setenv("HF_ENDPOINT", state.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True, raising=False)
        yield state


def tiny_hub_model() -> ModelInfo:
    return ModelInfo(
        name="tiny-hub",
        description="test",
        task_types=("clip_embedding",),
        runtime="onnxruntime",
        files=(ModelFile("w.onnx", None, None, hub=HubFile("t/tiny", "main", "onnx/w.onnx")),),
        contract="test",
    )


W_PATH = "/t/tiny/resolve/main/onnx/w.onnx"


def entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_pull_without_flags_installs_and_locks(hub: Hub, tmp_path: Path) -> None:
    hub.files[W_PATH] = WEIGHTS
    root = tmp_path / "models"
    result = pull_model(tiny_hub_model(), root)
    assert (root / "tiny-hub" / "w.onnx").read_bytes() == WEIGHTS
    assert result.downloaded == ("w.onnx",)
    lock = read_lock(root)
    assert lock["tiny-hub/w.onnx"].sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert entries(root) == ["models.lock.json", "tiny-hub"]
    assert len(hub.gets) == 1

    again = pull_model(tiny_hub_model(), root)
    assert again.downloaded == () and again.already_present == ("w.onnx",)
    assert len(hub.gets) == 1  # nothing fetched the second time


def test_changed_file_on_the_hub_is_refused_by_the_lock(hub: Hub, tmp_path: Path) -> None:
    hub.files[W_PATH] = WEIGHTS
    root = tmp_path / "models"
    pull_model(tiny_hub_model(), root)
    hub.files[W_PATH] = b"other weights"
    hub.commit = "b" * 40
    (root / "tiny-hub" / "w.onnx").write_bytes(b"damaged")  # forces a new download
    with pytest.raises(PullError, match=r"SHA-256 mismatch .*\(locked\)"):
        pull_model(tiny_hub_model(), root)
    assert (root / "tiny-hub" / "w.onnx").read_bytes() == b"damaged"
    assert entries(root) == ["models.lock.json", "tiny-hub"]


@pytest.mark.parametrize("status", [404, 500])
def test_failed_download_installs_nothing(hub: Hub, tmp_path: Path, status: int) -> None:
    hub.files[W_PATH] = WEIGHTS
    hub.status[W_PATH] = status
    with pytest.raises(PullError, match=f"HTTP {status}"):
        pull_model(tiny_hub_model(), tmp_path / "models")
    assert entries(tmp_path / "models") == []


def test_truncated_download_installs_nothing(hub: Hub, tmp_path: Path) -> None:
    hub.files[W_PATH] = WEIGHTS
    hub.truncate.add(W_PATH)
    with pytest.raises(PullError, match="failed"):
        pull_model(tiny_hub_model(), tmp_path / "models")
    assert entries(tmp_path / "models") == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_hub_is_one_sentence(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HF_ENDPOINT", closed)
    with pytest.raises(PullError) as info:
        pull_model(tiny_hub_model(), tmp_path / "models")
    msg = str(info.value)
    assert msg.startswith(f"cannot reach the model hub at {closed} (set HF_ENDPOINT")
    assert str(tmp_path / "models" / "tiny-hub") in msg
    assert entries(tmp_path / "models") == []


def test_offline_mode_is_one_sentence(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.files[W_PATH] = WEIGHTS
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PullError, match=f"cannot reach the model hub at {hub.url}"):
        pull_model(tiny_hub_model(), tmp_path / "models")
    assert hub.gets == []


def test_real_entries_pull_with_no_flags_via_cli(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")
    hub.files["/fal/AuraFace-v1/resolve/main/glintr100.onnx"] = b"fake auraface"
    hub.files["/onnx-community/dinov2-small/resolve/main/onnx/model.onnx"] = b"fake dino"
    for name, file, body in (
        ("auraface-v1", "glintr100.onnx", b"fake auraface"),
        ("dinov2-vits14", "model.onnx", b"fake dino"),
    ):
        ok = CliRunner().invoke(models_app, ["pull", name])
        assert ok.exit_code == 0, ok.output
        assert (tmp_path / "data" / "models" / name / file).read_bytes() == body

    listed = CliRunner().invoke(models_app, ["list"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "auraface-v1" in line)
    assert "locked 20" in row and "Apache-2.0" in row

    assert CliRunner().invoke(models_app, ["verify", "auraface-v1"]).exit_code == 0
    (tmp_path / "data" / "models" / "auraface-v1" / "glintr100.onnx").write_bytes(b"tampered")
    bad = CliRunner().invoke(models_app, ["verify"])
    assert bad.exit_code == 1 and "mismatch" in bad.output
    assert registry.get_model("auraface-v1").file("glintr100.onnx").hub is not None
