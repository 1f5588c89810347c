from __future__ import annotations

from pathlib import Path

import pytest

from cl_server.errors import PluginUnavailableError
from cl_server.models.locate import find_file, locate_model, model_search_dirs, model_status
from cl_server.models.registry import DLIB_RESNET_V1, MOBILECLIP_S2, ModelFile, ModelInfo

VOCAB = "bpe_simple_vocab_16e6.txt.gz"
NO_PACKAGE = ModelInfo(
    name="tiny",
    description="test model",
    task_types=("clip_embedding",),
    runtime="onnxruntime",
    files=(ModelFile("a.onnx", None, "https://example.invalid/a.onnx"),),
    contract="x",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CL_SERVER_DIR", str(data_dir))
    monkeypatch.delenv("CL_MODELS_DIR", raising=False)
    return data_dir


def put(root: Path, model: str, name: str) -> Path:
    path = root / model / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_search_order_explicit_then_data_dir_then_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    explicit, env_dir = tmp_path / "explicit", tmp_path / "env"
    monkeypatch.setenv("CL_MODELS_DIR", str(env_dir))
    assert model_search_dirs(models_dir=explicit) == [
        explicit.resolve(),
        (isolated_env / "models").resolve(),
        env_dir.resolve(),
    ]
    in_env = put(env_dir, "tiny", "a.onnx")
    assert find_file(NO_PACKAGE, "a.onnx", models_dir=explicit) == in_env.resolve()
    in_data = put(isolated_env / "models", "tiny", "a.onnx")
    assert find_file(NO_PACKAGE, "a.onnx", models_dir=explicit) == in_data.resolve()
    in_explicit = put(explicit, "tiny", "a.onnx")
    assert find_file(NO_PACKAGE, "a.onnx", models_dir=explicit) == in_explicit.resolve()


def test_duplicate_roots_are_searched_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CL_MODELS_DIR", str(tmp_path / "m"))
    assert len(model_search_dirs(models_dir=tmp_path / "m")) == 2


def test_installed_package_is_the_last_resort(tmp_path: Path) -> None:
    # face_recognition_models is a dependency: dlib's ResNet is found in it with no directory set.
    name = DLIB_RESNET_V1.files[0].name
    shipped = find_file(DLIB_RESNET_V1, name)
    assert shipped is not None and "face_recognition_models" in str(shipped)
    local = put(tmp_path / "explicit", DLIB_RESNET_V1.name, name)
    assert find_file(DLIB_RESNET_V1, name, models_dir=tmp_path / "explicit") == local.resolve()


def test_missing_model_message_says_how_to_get_it() -> None:
    with pytest.raises(PluginUnavailableError) as info:
        locate_model(MOBILECLIP_S2, ("vision_model.onnx",), task_type="clip_embedding")
    assert str(info.value).startswith("clip_embedding: model 'mobileclip-s2' not found")
    assert "cl-server models pull mobileclip-s2" in str(info.value)
    assert "CL_MODELS_DIR" in str(info.value)


def test_status_reports_each_file(tmp_path: Path) -> None:
    put(tmp_path / "m", MOBILECLIP_S2.name, VOCAB)
    statuses = {s.name: s.path for s in model_status(MOBILECLIP_S2, models_dir=tmp_path / "m")}
    assert statuses["vision_model.onnx"] is None
    assert statuses[VOCAB] == (tmp_path / "m" / MOBILECLIP_S2.name / VOCAB).resolve()


def test_unknown_file_name_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        find_file(NO_PACKAGE, "other.onnx")
