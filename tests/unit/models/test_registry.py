from __future__ import annotations

import re

import pytest

from cl_server.models import MODELS, get_model
from cl_server.plugins.registry import plugin_specs

ML_TASKS = {
    "clip_embedding",
    "clip_text_embedding",
    "dino_embedding",
    "face_detection",
    "face_embedding",
}


def test_every_model_file_has_a_source_and_a_well_formed_checksum() -> None:
    for model in MODELS.values():
        assert model.files, model.name
        assert model.contract, model.name
        names = [f.name for f in model.files]
        assert len(names) == len(set(names)), model.name
        for f in model.files:
            if f.hub is not None:
                assert f.hub.repo and f.hub.revision and f.hub.path, (model.name, f.name)
            else:
                assert f.url is not None and f.url.startswith("https://"), (model.name, f.name)
            if f.sha256 is not None:
                assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), (model.name, f.name)


def test_every_ml_task_type_has_a_model_and_a_registered_spec() -> None:
    covered = {task for model in MODELS.values() for task in model.task_types}
    assert covered == ML_TASKS
    assert set(plugin_specs()) >= ML_TASKS


def test_reference_dimensions_match_protocol() -> None:
    assert get_model("mobileclip-s2").embedding_dim == 512
    assert get_model("dinov2-vits14").embedding_dim == 384
    assert get_model("dlib-resnet-v1").embedding_dim == 128
    aura = get_model("auraface-v1")
    assert aura.embedding_dim == 512 and aura.license == "Apache-2.0"
    hub = aura.file("glintr100.onnx").hub
    assert hub is not None and (hub.repo, hub.revision, hub.path) == (
        "fal/AuraFace-v1",
        "main",
        "glintr100.onnx",
    )


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="mobileclip-s2"):
        get_model("no-such-model")
