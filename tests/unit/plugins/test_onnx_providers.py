"""ONNX execution providers: selection (pure), thread settings, and OnnxEncoder on a real model."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from cl_server.errors import PluginUnavailableError
from cl_server.plugins._ml import providers
from cl_server.plugins._ml.onnx_encoder import OnnxEncoder
from cl_server.plugins._ml.providers import (
    ProviderChoice,
    chosen_provider,
    parse_thread_count,
    select_providers,
    session_options,
    session_providers,
)
from tests.unit.plugins.ml_support import make_image_encoder

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
COREML = "CoreMLExecutionProvider"
DML = "DmlExecutionProvider"
TRT = "TensorrtExecutionProvider"
ENV = ("CL_ONNX_PROVIDERS", "CL_ONNX_INTRA_OP_THREADS", "CL_ONNX_INTER_OP_THREADS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    chosen_provider.cache_clear()
    yield
    chosen_provider.cache_clear()


# --- select_providers (pure) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        ([CUDA, CPU], (CUDA, CPU)),
        ([TRT, CUDA, CPU], (CUDA, CPU)),  # TensorRT only when asked for
        ([COREML, "AzureExecutionProvider", CPU], (COREML, CPU)),
        ([DML, CPU], (DML, CPU)),
        (["AzureExecutionProvider", CPU], (CPU,)),
        ([CPU], (CPU,)),
        ([], (CPU,)),
        ([CPU, DML, CUDA], (CUDA, DML, CPU)),  # our order, not the runtime's
    ],
)
def test_auto_prefers_cuda_then_coreml_then_directml_then_cpu(
    available: list[str], expected: tuple[str, ...]
) -> None:
    for setting in ("auto", "AUTO", " auto ", ""):
        choice = select_providers(setting, available)
        assert choice == ProviderChoice(expected)
        assert choice.primary == expected[0]


def test_explicit_lists_and_aliases() -> None:
    available = [TRT, CUDA, COREML, DML, CPU]
    assert select_providers("cuda", available).providers == (CUDA, CPU)
    assert select_providers("CUDA", available).providers == (CUDA, CPU)
    assert select_providers("CUDAExecutionProvider", available).providers == (CUDA, CPU)
    assert select_providers("cudaexecutionprovider", available).providers == (CUDA, CPU)
    assert select_providers("tensorrt, cuda", available).providers == (TRT, CUDA, CPU)
    assert select_providers("trt", available).primary == TRT
    assert select_providers("CoreML", available).providers == (COREML, CPU)
    assert select_providers("directml", available).providers == (DML, CPU)
    assert select_providers("dml", available).providers == (DML, CPU)
    assert select_providers("cpu", available).providers == (CPU,)
    # CPU always last, duplicates dropped, empty items ignored
    assert select_providers("cpu,cuda,cuda,", available).providers == (CUDA, CPU)
    # a name this module has no alias for, offered by the runtime, in any case
    assert select_providers(
        "azureexecutionprovider", ["AzureExecutionProvider", CPU]
    ).providers == (
        "AzureExecutionProvider",
        CPU,
    )
    assert select_providers("cpu", []).providers == (CPU,)


def test_unavailable_explicit_provider_is_an_error_naming_it_and_the_available_ones() -> None:
    with pytest.raises(ValueError, match="CL_ONNX_PROVIDERS") as info:
        select_providers("cuda", ["AzureExecutionProvider", CPU])
    message = str(info.value)
    assert CUDA in message and "not available" in message
    assert "AzureExecutionProvider, CPUExecutionProvider" in message
    assert "onnxruntime-gpu" in message
    with pytest.raises(ValueError, match=f"{DML}.*available here: {CPU}"):
        select_providers("cpu,dml", [CPU])


def test_unknown_provider_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"unknown ONNX execution provider 'tpu'.*available here"):
        select_providers("tpu", [CPU])
    with pytest.raises(ValueError, match="unknown"):
        select_providers("auto,cuda", [CUDA, CPU])  # auto is not a list item


# --- thread counts -------------------------------------------------------------------------


def test_parse_thread_count() -> None:
    name = "CL_ONNX_INTRA_OP_THREADS"
    assert parse_thread_count(name, None) is None
    assert parse_thread_count(name, "") is None
    assert parse_thread_count(name, "  ") is None
    assert parse_thread_count(name, "0") == 0
    assert parse_thread_count(name, " 4 ") == 4
    with pytest.raises(ValueError, match=rf"{name} must be a whole number of threads, got 'abc'"):
        parse_thread_count(name, "abc")
    with pytest.raises(ValueError, match="whole number"):
        parse_thread_count(name, "1.5")
    with pytest.raises(ValueError, match=rf"{name} must be 0 .* or more, got -1"):
        parse_thread_count(name, "-1")


def test_session_options_carry_thread_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    default = session_options()
    assert default.log_severity_level == 3
    monkeypatch.setenv("CL_ONNX_INTRA_OP_THREADS", "2")
    monkeypatch.setenv("CL_ONNX_INTER_OP_THREADS", "3")
    options = session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 3)
    monkeypatch.setenv("CL_ONNX_INTER_OP_THREADS", "-2")
    with pytest.raises(ValueError, match="CL_ONNX_INTER_OP_THREADS"):
        session_options()


# --- from the environment ------------------------------------------------------------------


def test_session_providers_from_env_and_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    # What this machine's onnxruntime offers: CPU (no accelerator in auto's list).
    assert session_providers()[-1] == CPU
    # A machine with onnxruntime-gpu: the same code picks CUDA.
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    assert session_providers() == [CUDA, CPU]
    monkeypatch.setenv("CL_ONNX_PROVIDERS", "cpu")
    assert session_providers() == [CPU]
    monkeypatch.setenv("CL_ONNX_PROVIDERS", "coreml")
    with pytest.raises(ValueError, match=COREML):
        session_providers()


def test_chosen_provider_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [DML, CPU])
    with caplog.at_level(logging.INFO, logger=providers.__name__):
        assert chosen_provider() == DML
        assert chosen_provider() == DML
    lines = [r.getMessage() for r in caplog.records if r.name == providers.__name__]
    assert lines == [f"ONNX execution provider: {DML}"]


def test_chosen_provider_with_a_bad_setting_says_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CL_ONNX_PROVIDERS", "nonsense")
    assert chosen_provider() == "none"


# --- OnnxEncoder on a real (tiny) model ----------------------------------------------------


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.onnx"
    make_image_encoder(path, size=8, dim=4)
    return path


def test_encoder_runs_on_cpu_and_reports_it(tiny_model: Path) -> None:
    encoder = OnnxEncoder(tiny_model, task_type="t")
    assert encoder.provider == CPU
    assert encoder.output_shape == ["N", 4]
    assert chosen_provider() == CPU
    out = encoder.encode(np.zeros((2, 3, 8, 8), dtype=np.float32))
    assert out.shape == (2, 4)


def test_encoder_thread_settings(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CL_ONNX_INTRA_OP_THREADS", "1")
    monkeypatch.setenv("CL_ONNX_INTER_OP_THREADS", "1")
    assert OnnxEncoder(tiny_model, task_type="t").provider == CPU
    monkeypatch.setenv("CL_ONNX_INTRA_OP_THREADS", "abc")
    with pytest.raises(PluginUnavailableError, match=r"^t: CL_ONNX_INTRA_OP_THREADS .*'abc'"):
        OnnxEncoder(tiny_model, task_type="t")


def test_encoder_with_an_unavailable_provider_is_unavailable(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CL_ONNX_PROVIDERS", "cuda")
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CPU])
    with pytest.raises(PluginUnavailableError, match=f"^clip_embedding: .*{CUDA}.*not available"):
        OnnxEncoder(tiny_model, task_type="clip_embedding")


def test_encoder_reports_the_runtime_fallback(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The runtime claims CUDA (as onnxruntime-gpu does) but cannot start it (here: it is the CPU
    # build): the session runs on CPU, and provider says so.
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    with (
        caplog.at_level(logging.WARNING),
        pytest.warns(UserWarning, match="CUDAExecutionProvider"),
    ):
        encoder = OnnxEncoder(tiny_model, task_type="t")
    assert encoder.provider == CPU
    assert any("asked for CUDAExecutionProvider" in r.getMessage() for r in caplog.records)
