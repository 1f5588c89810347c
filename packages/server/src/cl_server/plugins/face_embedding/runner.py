"""Runner: face image -> aligned chip -> descriptor -> ``output/face_embedding.npy``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from cl_server.plugins._ml.dlib_models import import_dlib, landmarks_path, resnet_path
from cl_server.plugins._ml.embedding import BatchEmbeddingRunner, FloatArray
from cl_server.plugins._ml.images import laplacian_variance, open_rgb
from cl_server.plugins.base import JobContext
from cl_server.plugins.face_embedding.embedder import FaceEmbedder
from cl_server.plugins.face_embedding.spec import OUTPUT_PATH

TASK = "face_embedding"


def quality_score(laplacian_var: float) -> float:
    """PROTOCOL §4.2: min(variance of the Laplacian / 100, 1.0)."""
    return min(laplacian_var / 100.0, 1.0)


class FaceEmbeddingRunner(BatchEmbeddingRunner):
    output_path = OUTPUT_PATH
    max_batch_size = 8

    def __init__(self, embedder: FaceEmbedder) -> None:
        self.embedder = embedder

    def prepare(self, ctx: JobContext) -> tuple[npt.NDArray[np.generic], dict[str, object]]:
        img = open_rgb(ctx.require_input(), draft_size=1024)
        chip, _detected = self.embedder.chip(img)
        quality = quality_score(laplacian_variance(img)) if min(img.size) >= 3 else None
        return chip, {"quality_score": quality}

    def encode(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        return self.embedder.embed(batch)


def load_runner(models_dir: Path | None) -> FaceEmbeddingRunner:
    dlib = import_dlib(TASK)
    embedder = FaceEmbedder(dlib, landmarks_path(TASK, models_dir), resnet_path(TASK, models_dir))
    return FaceEmbeddingRunner(embedder)
