"""Which onnxruntime execution providers (CPU, CUDA, CoreML, DirectML...) ONNX plugins run on.

Settings, read from the environment when a session is made (never at import):

- ``CL_ONNX_PROVIDERS``: ``auto`` (default) or a comma-separated list of providers, each a full
  onnxruntime name (``CUDAExecutionProvider``) or a short alias (``cuda``, ``tensorrt``/``trt``,
  ``coreml``, ``directml``/``dml``, ``rocm``, ``openvino``, ``cpu``), case-insensitive. ``auto``
  takes CUDA, then CoreML, then DirectML, where the installed onnxruntime offers them (TensorRT
  only when asked for: its engine build takes minutes). CPU is always appended as the last
  fallback. A provider asked for by name that this onnxruntime does not offer is an error, not a
  silent fallback.
- ``CL_ONNX_INTRA_OP_THREADS`` / ``CL_ONNX_INTER_OP_THREADS``: thread counts of a session (empty
  or unset: onnxruntime's default; ``0`` also means the default).

A machine with ``onnxruntime-gpu`` installed instead of ``onnxruntime`` reports
``CUDAExecutionProvider`` as available, so ``auto`` uses it without any code change.

The worker's settings object (``cl_server.settings``) is not passed down to the plugins' model
loaders, so this module has its own small pydantic-settings class with the same ``CL_`` prefix.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

PROVIDERS_ENV = "CL_ONNX_PROVIDERS"
INTRA_OP_THREADS_ENV = "CL_ONNX_INTRA_OP_THREADS"
INTER_OP_THREADS_ENV = "CL_ONNX_INTER_OP_THREADS"

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
COREML = "CoreMLExecutionProvider"
DIRECTML = "DmlExecutionProvider"
ROCM = "ROCMExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"

AUTO_ORDER: tuple[str, ...] = (CUDA, COREML, DIRECTML)
"""Preferred accelerators of ``auto``, best first; CPU follows them all."""

ALIASES: dict[str, str] = {
    "cpu": CPU,
    "cuda": CUDA,
    "gpu": CUDA,
    "tensorrt": TENSORRT,
    "trt": TENSORRT,
    "coreml": COREML,
    "directml": DIRECTML,
    "dml": DIRECTML,
    "rocm": ROCM,
    "openvino": OPENVINO,
}
_KNOWN: dict[str, str] = {
    **ALIASES,
    **{name.lower(): name for name in (CPU, CUDA, TENSORRT, COREML, DIRECTML, ROCM, OPENVINO)},
}

NO_PROVIDER = "none"
"""What ``chosen_provider`` reports when no ONNX session can be made (bad setting, no runtime)."""


@dataclass(frozen=True)
class ProviderChoice:
    providers: tuple[str, ...]
    """onnxruntime provider names in the order a session should try them (CPU last)."""

    @property
    def primary(self) -> str:
        """The provider a session uses when it starts as asked (the first one)."""
        return self.providers[0]


def _resolve(name: str, available: Sequence[str]) -> str | None:
    """Full onnxruntime name of an alias or a full name (any case); None when unknown."""
    key = name.strip().lower()
    for offered in available:  # also names this table does not know, spelt in any case
        if offered.lower() == key:
            return offered
    return _KNOWN.get(key)


def select_providers(setting: str, available: Sequence[str]) -> ProviderChoice:
    """The providers for ``setting`` (``auto`` or a comma-separated list) given those
    ``available`` in this onnxruntime. ``ValueError`` for an unknown or unavailable provider."""
    value = setting.strip()
    if value == "" or value.lower() == "auto":
        chosen = [p for p in AUTO_ORDER if p in available]
    else:
        offered = ", ".join(available) or "none"
        chosen = []
        for raw in value.split(","):
            if not raw.strip():
                continue
            name = _resolve(raw, available)
            if name is None:
                known = ", ".join(sorted(ALIASES))
                raise ValueError(
                    f"{PROVIDERS_ENV}: unknown ONNX execution provider {raw.strip()!r} "
                    f"(use auto, an alias such as {known}, or a full name); "
                    f"available here: {offered}"
                )
            if name not in available and name != CPU:
                hint = " (install onnxruntime-gpu in place of onnxruntime)" if name == CUDA else ""
                raise ValueError(
                    f"{PROVIDERS_ENV}: ONNX execution provider {name} ({raw.strip()!r}) is not "
                    f"available in this onnxruntime{hint}; available here: {offered}"
                )
            if name not in chosen:
                chosen.append(name)
    chosen = [p for p in chosen if p != CPU]
    chosen.append(CPU)
    return ProviderChoice(tuple(chosen))


def parse_thread_count(name: str, raw: str | None) -> int | None:
    """A thread-count setting: None when empty/unset (onnxruntime's default), else an int >= 0."""
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number of threads, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be 0 (onnxruntime's default) or more, got {value}")
    return value


class OnnxSettings(BaseSettings):
    """``CL_ONNX_*`` from the environment (kept as text: the parsers above give the errors)."""

    model_config = SettingsConfigDict(env_prefix="CL_", extra="ignore")

    onnx_providers: str = "auto"
    onnx_intra_op_threads: str = ""
    onnx_inter_op_threads: str = ""


def _available() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def current_choice() -> ProviderChoice:
    """``select_providers`` for ``CL_ONNX_PROVIDERS`` and this onnxruntime (``ValueError``)."""
    return select_providers(OnnxSettings().onnx_providers, _available())


def session_providers() -> list[str]:
    """The ``providers`` argument for ``onnxruntime.InferenceSession`` (``ValueError``)."""
    return list(current_choice().providers)


def session_options() -> onnxruntime.SessionOptions:  # pyright: ignore[reportUnknownParameterType]
    """Session options with the configured thread counts (``ValueError`` for a bad one)."""
    import onnxruntime as ort

    settings = OnnxSettings()
    intra = parse_thread_count(INTRA_OP_THREADS_ENV, settings.onnx_intra_op_threads)
    inter = parse_thread_count(INTER_OP_THREADS_ENV, settings.onnx_inter_op_threads)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only; warnings would go to stderr per session
    if intra is not None:
        options.intra_op_num_threads = intra
    if inter is not None:
        options.inter_op_num_threads = inter
    return options


@functools.cache
def chosen_provider() -> str:
    """The primary provider ONNX plugins use in this process, e.g. ``CPUExecutionProvider``.

    Computed and logged (INFO, once per process) on first call. ``"none"`` when the setting is
    invalid or onnxruntime is missing; ONNX plugins then fail to load with the reason.
    """
    try:
        primary = current_choice().primary
    except (ImportError, ValueError) as exc:
        log.warning("ONNX execution provider: %s (%s)", NO_PROVIDER, exc)
        return NO_PROVIDER
    log.info("ONNX execution provider: %s", primary)
    return primary
