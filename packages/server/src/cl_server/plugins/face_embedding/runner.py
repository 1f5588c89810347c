"""Runner: face image -> aligned chip -> descriptor -> ``output/face_embedding.npy``.

Model: the ArcFace-class ``auraface-v1`` (512-d, ONNX, ``arcface.py``) when its file
``glintr100.onnx`` is in a model directory (``cl-server models pull auraface-v1``), else dlib's
ResNet (128-d, ``embedder.py``), which is installed with the server and is the offline default.
A present but unloadable ONNX file is an error (``PluginUnavailableError``), not a fallback.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cl_server.models.locate import find_file
from cl_server.models.registry import AURAFACE_V1
from cl_server.plugins._ml.dlib_models import import_dlib, landmarks_path, resnet_path
from cl_server.plugins._ml.embedding import BatchEmbeddingRunner, FloatArray
from cl_server.plugins._ml.images import laplacian_variance, open_rgb
from cl_server.plugins.base import JobContext
from cl_server.plugins.face_embedding.embedder import Embedder, FaceEmbedder, FaceFinder
from cl_server.plugins.face_embedding.spec import OUTPUT_PATH

TASK = "face_embedding"
ARCFACE_FILE = "glintr100.onnx"
log = logging.getLogger(__name__)


def quality_score(laplacian_var: float) -> float:
    """PROTOCOL §4.2: min(variance of the Laplacian / 100, 1.0)."""
    return min(laplacian_var / 100.0, 1.0)


class FaceEmbeddingRunner(BatchEmbeddingRunner):
    output_path = OUTPUT_PATH
    max_batch_size = 8

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def prepare(self, ctx: JobContext) -> tuple[npt.NDArray[np.generic], dict[str, object]]:
        img = open_rgb(ctx.require_input(), draft_size=1024)
        chip, _detected = self.embedder.chip(img)
        quality = quality_score(laplacian_variance(img)) if min(img.size) >= 3 else None
        return chip, {"quality_score": quality}

    def encode(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        return self.embedder.embed(batch)


def load_embedder(models_dir: Path | None) -> Embedder:
    """auraface-v1 when its ONNX file is found, else dlib's ResNet; logs which (once per load)."""
    dlib = import_dlib(TASK)
    landmarks = landmarks_path(TASK, models_dir)
    onnx_path = find_file(AURAFACE_V1, ARCFACE_FILE, models_dir=models_dir)
    if onnx_path is None:
        embedder: Embedder = FaceEmbedder(dlib, landmarks, resnet_path(TASK, models_dir))
        log.info(
            "%s: using dlib ResNet v1 (128-d); `cl-server models pull %s` for 512-d ArcFace",
            TASK,
            AURAFACE_V1.name,
        )
        return embedder
    from cl_server.plugins._ml.onnx_encoder import OnnxEncoder
    from cl_server.plugins.face_embedding.arcface import ArcFaceEmbedder

    encoder = OnnxEncoder(onnx_path, task_type=TASK)
    embedder = ArcFaceEmbedder(FaceFinder(dlib, landmarks), encoder, AURAFACE_V1, task_type=TASK)
    log.info(
        "%s: using %s (%d-d, %s on %s)",
        TASK,
        AURAFACE_V1.name,
        embedder.embedding_dim,
        onnx_path,
        encoder.provider,
    )
    return embedder


def load_runner(models_dir: Path | None) -> FaceEmbeddingRunner:
    return FaceEmbeddingRunner(load_embedder(models_dir))
