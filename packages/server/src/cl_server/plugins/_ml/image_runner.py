"""Runner for image encoders (clip_embedding, dino_embedding): image -> preprocess -> ONNX."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cl_server.models.locate import locate_model
from cl_server.models.registry import ModelInfo
from cl_server.plugins._ml.embedding import BatchEmbeddingRunner, FloatArray
from cl_server.plugins._ml.images import encoder_input, open_rgb
from cl_server.plugins._ml.onnx_encoder import OnnxEncoder
from cl_server.plugins.base import JobContext


class ImageEmbeddingRunner(BatchEmbeddingRunner):
    def __init__(self, encoder: OnnxEncoder, model: ModelInfo, output_path: str) -> None:
        if model.image is None:
            raise ValueError(f"model {model.name} has no image contract")
        size = encoder.spatial_size()
        # The ONNX file's own fixed input size wins over the registry's.
        self.contract = dataclasses.replace(model.image, size=size) if size else model.image
        self.encoder = encoder
        self.output_path = output_path

    def prepare(self, ctx: JobContext) -> tuple[npt.NDArray[np.generic], dict[str, object]]:
        img = open_rgb(ctx.require_input(), draft_size=self.contract.size * 2)
        return encoder_input(img, self.contract), {}

    def encode(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        return self.encoder.encode(batch)


def load_image_runner(
    model: ModelInfo, file_name: str, *, task_type: str, output_path: str, models_dir: Path | None
) -> ImageEmbeddingRunner:
    paths = locate_model(model, (file_name,), task_type=task_type, models_dir=models_dir)
    encoder = OnnxEncoder(paths[file_name], task_type=task_type)
    return ImageEmbeddingRunner(encoder, model, output_path)
