"""clip_text_embedding: CLIP text embedding of the form field ``text`` (no file).

Same embedding space as clip_embedding, so a text vector ranks image vectors for search.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from cl_server.plugins._ml.params import NormalizeParams
from cl_server.plugins.base import FixedOutputSpec, PluginRunner

OUTPUT_PATH = "output/clip_text_embedding.npy"
MAX_TEXT_CHARS = 2000
"""CLIP reads 77 tokens at most; longer text only costs tokenising time."""


class ClipTextEmbeddingParams(NormalizeParams):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be empty")
        return value


class ClipTextEmbeddingSpec(FixedOutputSpec):
    task_type = "clip_text_embedding"
    params_model = ClipTextEmbeddingParams
    requires_file = False
    output_file = OUTPUT_PATH

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.clip_text_embedding.runner import load_runner

        return load_runner(models_dir)
