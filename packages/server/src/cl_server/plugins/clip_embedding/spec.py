"""clip_embedding: CLIP image embedding (PROTOCOL §4.2)."""

from __future__ import annotations

from pathlib import Path

from cl_server.plugins._ml.params import NormalizeParams
from cl_server.plugins.base import FixedOutputSpec, PluginRunner

OUTPUT_PATH = "output/clip_embedding.npy"


class ClipEmbeddingParams(NormalizeParams):
    pass


class ClipEmbeddingSpec(FixedOutputSpec):
    task_type = "clip_embedding"
    params_model = ClipEmbeddingParams
    requires_file = True
    output_file = OUTPUT_PATH

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.models.registry import MOBILECLIP_S2
        from cl_server.plugins._ml.image_runner import load_image_runner

        return load_image_runner(
            MOBILECLIP_S2,
            "vision_model.onnx",
            task_type=self.task_type,
            output_path=OUTPUT_PATH,
            models_dir=models_dir,
        )
