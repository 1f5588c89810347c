from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cl_server.models.cli import models_app


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CL_MODELS_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "250")


def test_list_shows_presence_per_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "dinov2-vits14").mkdir(parents=True)
    (models / "dinov2-vits14" / "model.onnx").write_bytes(b"onnx")
    result = CliRunner().invoke(models_app, ["list", "--models-dir", str(models)])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "present" in rows["dinov2-vits14"]
    assert "missing (0/3 files)" in rows["mobileclip-s2"]
    assert "missing (0/1 files)" in rows["auraface-v1"]
    assert "present" in rows["dlib-resnet-v1"]  # shipped by face_recognition_models


def test_pull_unknown_model_fails_with_the_known_names() -> None:
    result = CliRunner().invoke(models_app, ["pull", "nope"])
    assert result.exit_code == 2
    assert "mobileclip-s2" in result.output


def test_pull_offline_needs_no_flags_and_says_where_to_put_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example")
    result = CliRunner().invoke(models_app, ["pull", "dinov2-vits14", "--dest", str(tmp_path)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "cannot reach the model hub at https://mirror.example" in out
    assert "HF_ENDPOINT" in out
    assert not (tmp_path / "dinov2-vits14").exists()


def test_list_shows_checksum_state_and_licence() -> None:
    result = CliRunner().invoke(models_app, ["list"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "unverified" in rows["auraface-v1"] and "Apache-2.0" in rows["auraface-v1"]
    assert "pinned" in rows["dlib-resnet-v1"] and "CC0-1.0" in rows["dlib-resnet-v1"]
