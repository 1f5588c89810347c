"""An ONNX encoder ``[N, ...] -> [N, D]`` on the configured execution providers (``providers``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cl_server.errors import PluginError, PluginUnavailableError
from cl_server.plugins._ml.providers import chosen_provider, session_options, session_providers

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

# Exports often have several outputs; these hold the embedding when present.
_PREFERRED_OUTPUTS = ("image_embeds", "text_embeds", "embeddings", "pooler_output")
_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


class OnnxEncoder:
    def __init__(self, path: Path, *, task_type: str) -> None:
        import onnxruntime as ort

        try:
            providers = session_providers()
            options = session_options()
        except ValueError as exc:  # a bad CL_ONNX_* setting
            raise PluginUnavailableError(f"{task_type}: {exc}") from exc
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=providers
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise PluginUnavailableError(
                f"{task_type}: model file {path} could not be loaded: {exc}"
            ) from exc
        self.provider: str = self._session.get_providers()[0]
        """The provider this session actually runs on (onnxruntime falls back when, say, the
        CUDA libraries are missing)."""
        chosen_provider()  # logs the process's provider once
        if self.provider != providers[0]:
            log.warning(
                "%s: asked for %s, the session runs on %s",
                task_type,
                providers[0],
                self.provider,
            )
        inputs = self._session.get_inputs()
        self.input_name: str = inputs[0].name
        self.input_shape: list[int | str | None] = list(inputs[0].shape)
        self._input_dtype = _INT_TYPES.get(inputs[0].type, np.float32)
        self._mask_name: str | None = next(
            (i.name for i in inputs[1:] if i.name == "attention_mask"), None
        )
        outputs = {o.name: o for o in self._session.get_outputs()}
        self.output_name: str = next(
            (n for n in _PREFERRED_OUTPUTS if n in outputs), next(iter(outputs))
        )
        self.output_shape: list[int | str | None] = list(outputs[self.output_name].shape)
        first = self.input_shape[0] if self.input_shape else None
        # A model exported with batch size 1 cannot take a stacked batch; loop instead.
        self.fixed_batch: int | None = first if isinstance(first, int) else None

    def spatial_size(self) -> int | None:
        """Square input side from an ``[N, 3, H, W]`` input with fixed H == W, else None."""
        if len(self.input_shape) == 4:
            h, w = self.input_shape[2], self.input_shape[3]
            if isinstance(h, int) and h == w:
                return h
        return None

    def encode(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        if self.fixed_batch is not None and batch.shape[0] != self.fixed_batch:
            return np.concatenate([self._run(batch[i : i + 1]) for i in range(batch.shape[0])])
        return self._run(batch)

    def _run(self, batch: npt.NDArray[np.generic]) -> FloatArray:
        feeds: dict[str, npt.NDArray[np.generic]] = {
            self.input_name: batch.astype(self._input_dtype, copy=False)
        }
        if self._mask_name is not None:
            feeds[self._mask_name] = (batch != 0).astype(np.int64)
        try:
            out = np.asarray(self._session.run([self.output_name], feeds)[0], dtype=np.float32)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise PluginError(f"the model could not process this input: {exc}") from exc
        if out.ndim == 3:  # a token sequence: the CLS token is the embedding
            out = out[:, 0, :]
        return out.reshape(out.shape[0], -1)
