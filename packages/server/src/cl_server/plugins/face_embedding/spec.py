"""face_embedding: ArcFace (auraface-v1, 512-d) or dlib ResNet (128-d) descriptor of a face image
(PROTOCOL §4.2)."""

from __future__ import annotations

from pathlib import Path

from cl_server.plugins._ml.params import NormalizeParams
from cl_server.plugins.base import FixedOutputSpec, PluginRunner

OUTPUT_PATH = "output/face_embedding.npy"


class FaceEmbeddingParams(NormalizeParams):
    pass


class FaceEmbeddingSpec(FixedOutputSpec):
    task_type = "face_embedding"
    params_model = FaceEmbeddingParams
    requires_file = True
    output_file = OUTPUT_PATH

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.face_embedding.runner import load_runner

        return load_runner(models_dir)
