"""dino_embedding: DINOv2 image embedding, CLS token (PROTOCOL §4.2)."""

from __future__ import annotations

from pathlib import Path

from cl_server.plugins._ml.params import NormalizeParams
from cl_server.plugins.base import FixedOutputSpec, PluginRunner

OUTPUT_PATH = "output/dino_embedding.npy"


class DinoEmbeddingParams(NormalizeParams):
    pass


class DinoEmbeddingSpec(FixedOutputSpec):
    task_type = "dino_embedding"
    params_model = DinoEmbeddingParams
    requires_file = True
    output_file = OUTPUT_PATH

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.models.registry import DINOV2_VITS14
        from cl_server.plugins._ml.image_runner import load_image_runner

        return load_image_runner(
            DINOV2_VITS14,
            "model.onnx",
            task_type=self.task_type,
            output_path=OUTPUT_PATH,
            models_dir=models_dir,
        )
