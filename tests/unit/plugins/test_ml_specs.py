"""The ML plugins' specs: light imports, form parsing, output paths (PROTOCOL §4.1)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from cl_server.plugins.base import PluginParams
from cl_server.plugins.registry import get_spec

EMBEDDINGS = {
    "clip_embedding": "output/clip_embedding.npy",
    "dino_embedding": "output/dino_embedding.npy",
    "face_embedding": "output/face_embedding.npy",
}


def test_specs_import_no_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from cl_server.plugins.registry import plugin_specs\n"
        "from cl_server.models import MODELS\n"
        "plugin_specs()\n"
        "heavy = {'numpy', 'onnxruntime', 'dlib', 'PIL', 'tokenizers'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("task", "path"), EMBEDDINGS.items())
@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("OFF", False), ("Yes", True), ("0", False)]
)
def test_normalize_form_values(task: str, path: str, raw: str, value: bool) -> None:
    spec = get_spec(task)
    assert spec is not None and spec.requires_file
    params = spec.params_model.model_validate({"normalize": raw})
    assert spec.stored_params(params) == {"normalize": value}
    assert spec.output_path(params, "photo.jpg") == path


@pytest.mark.parametrize("task", EMBEDDINGS)
def test_normalize_defaults_true_and_rejects_junk(task: str) -> None:
    spec = get_spec(task)
    assert spec is not None
    assert spec.stored_params(spec.params_model.model_validate({})) == {"normalize": True}
    with pytest.raises(ValidationError):
        spec.params_model.model_validate({"normalize": "maybe"})


def test_face_detection_stored_params() -> None:
    spec = get_spec("face_detection")
    assert spec is not None
    params: PluginParams = spec.params_model.model_validate(
        {"confidence_threshold": "0.5", "nms_threshold": "0.3"}
    )
    assert spec.stored_params(params) == {"confidence_threshold": 0.5, "nms_threshold": 0.3}
    assert spec.output_path(params, "x.jpg") == "output/face_detection.json"
