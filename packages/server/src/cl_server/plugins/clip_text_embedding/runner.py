"""Runner: text -> CLIP token ids -> text encoder -> ``output/clip_text_embedding.npy``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from cl_server.errors import PluginError
from cl_server.models.locate import locate_model
from cl_server.models.registry import MOBILECLIP_S2
from cl_server.plugins._ml.embedding import BatchEmbeddingRunner, FloatArray
from cl_server.plugins._ml.onnx_encoder import OnnxEncoder
from cl_server.plugins.base import JobContext
from cl_server.plugins.clip_text_embedding.spec import OUTPUT_PATH
from cl_server.plugins.clip_text_embedding.tokenizer import ClipTokenizer

TEXT_MODEL = "text_model.onnx"
VOCAB = "bpe_simple_vocab_16e6.txt.gz"


class ClipTextRunner(BatchEmbeddingRunner):
    output_path = OUTPUT_PATH

    def __init__(self, encoder: OnnxEncoder, tokenizer: ClipTokenizer) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer

    def prepare(self, ctx: JobContext) -> tuple[npt.NDArray[np.generic], dict[str, object]]:
        text = ctx.params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise PluginError("clip_text_embedding needs a non-empty `text` parameter")
        return self.tokenizer(text), {}

    def encode(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        return self.encoder.encode(batch)


def load_runner(models_dir: Path | None) -> ClipTextRunner:
    task = "clip_text_embedding"
    paths = locate_model(MOBILECLIP_S2, (TEXT_MODEL, VOCAB), task_type=task, models_dir=models_dir)
    encoder = OnnxEncoder(paths[TEXT_MODEL], task_type=task)
    context_length = MOBILECLIP_S2.context_length or 77
    if len(encoder.input_shape) == 2 and isinstance(encoder.input_shape[1], int):
        context_length = encoder.input_shape[1]
    return ClipTextRunner(encoder, ClipTokenizer.from_file(paths[VOCAB], context_length))
