"""Embedding vectors: normalisation, saving, and a runner base that batches jobs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cl_server.plugins.base import JobContext, TaskOutput

FloatArray = npt.NDArray[np.float32]


def finish(vector: FloatArray, normalize: bool) -> FloatArray:
    """Flatten to 1-D float32 and L2-normalise when asked (a zero vector stays zero)."""
    flat = np.asarray(vector, dtype=np.float32).reshape(-1)
    if normalize:
        norm = float(np.linalg.norm(flat))
        if norm > 0.0:
            flat = flat / np.float32(norm)
    return flat.astype(np.float32)


def save(path: Path, vector: FloatArray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vector.astype(np.float32))


def wants_normalize(ctx: JobContext) -> bool:
    value = ctx.params.get("normalize", True)
    return bool(value)


class BatchEmbeddingRunner(ABC):
    """Runs several jobs of one embedding type through the model in one call.

    Subclasses turn a job into the model's input plus any extra ``task_output`` keys (``prepare``,
    may raise ``PluginError`` for that job alone) and a stacked batch into vectors (``encode``).
    A job that fails to prepare fails on its own; the rest still run as one batch.
    """

    max_batch_size: int = 16
    output_path: str
    """Job-relative ``.npy`` path (PROTOCOL §4.1)."""

    @abstractmethod
    def prepare(self, ctx: JobContext) -> tuple[npt.NDArray[np.generic], dict[str, object]]: ...

    @abstractmethod
    def encode(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        """``[N, ...]`` model inputs -> ``[N, D]`` raw embeddings."""

    def run(self, ctx: JobContext) -> TaskOutput:
        result = self.run_batch([ctx])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def run_batch(self, contexts: Sequence[JobContext]) -> list[TaskOutput | Exception]:
        results: list[TaskOutput | Exception | None] = [None] * len(contexts)
        ready: list[int] = []
        inputs: list[npt.NDArray[np.generic]] = []
        extras: dict[int, dict[str, object]] = {}
        for i, ctx in enumerate(contexts):
            try:
                ctx.check_cancelled()
                model_input, extras[i] = self.prepare(ctx)
                inputs.append(model_input)
                ready.append(i)
            except Exception as exc:  # this job alone fails
                results[i] = exc
        if ready:
            try:
                vectors = self.encode(np.stack(inputs))
            except Exception as exc:  # the whole batch failed in the model
                for i in ready:
                    results[i] = exc
            else:
                for row, i in enumerate(ready):
                    ctx = contexts[i]
                    normalize = wants_normalize(ctx)
                    vector = finish(vectors[row], normalize)
                    save(ctx.output_file(self.output_path), vector)
                    results[i] = {
                        "embedding_dim": int(vector.shape[0]),
                        "normalized": normalize,
                        **extras[i],
                    }
        return [r if r is not None else RuntimeError("job produced no result") for r in results]
