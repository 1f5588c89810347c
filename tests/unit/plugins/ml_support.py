"""Tiny ONNX models with the real models' input/output contracts, and job helpers for ML tests.

The real CLIP/DINO weights are not on every machine; these models exercise the same loading and
inference code: image ``[N,3,S,S] float32 -> [N,D]`` (or ``[N,T,D]`` tokens, CLS first) and text
``[N,L] int64 -> [N,D]``. Their weights are seeded random matrices, so a test can compute the
expected embedding with NumPy.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from cl_server.plugins.base import JobContext

FloatArray = npt.NDArray[np.float32]

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"


def real_models_dir() -> Path | None:
    """Where real weights for tests live: ``CL_TEST_MODELS_DIR`` or ``../shared/models``."""
    env = os.environ.get("CL_TEST_MODELS_DIR")
    root = Path(env) if env else SHARED / "models"
    return root if root.is_dir() else None


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime we support
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def image_encoder_weights(size: int, dim: int, tokens: int = 1, seed: int = 0) -> FloatArray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3 * size * size, tokens * dim)).astype(np.float32)


def make_image_encoder(
    path: Path,
    *,
    size: int = 16,
    dim: int = 8,
    tokens: int | None = None,
    batch: int | str = "N",
    input_name: str = "pixel_values",
    seed: int = 0,
    pool: int = 1,
) -> FloatArray:
    """``[N,3,S,S] -> (average-pool by pool) -> flatten @ W -> [N,D]`` (or ``[N,T,D]`` with
    ``tokens``); returns W. Pooling keeps W small for benchmark-sized inputs."""
    weight = image_encoder_weights(size // pool, dim, tokens or 1, seed)
    nodes = []
    flat_input = input_name
    if pool > 1:
        nodes.append(
            helper.make_node(
                "AveragePool",
                [input_name],
                ["pooled"],
                kernel_shape=[pool, pool],
                strides=[pool, pool],
            )
        )
        flat_input = "pooled"
    nodes += [
        helper.make_node("Flatten", [flat_input], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["proj"]),
    ]
    out_name = "image_embeds"
    out_shape: list[int | str] = [batch, dim]
    if tokens is not None:
        out_name = "last_hidden_state"
        out_shape = [batch, tokens, dim]
        nodes.append(helper.make_node("Reshape", ["proj", "shape"], [out_name]))
    else:
        nodes[-1] = helper.make_node("MatMul", ["flat", "W"], [out_name])
    initializers = [numpy_helper.from_array(weight, "W")]
    if tokens is not None:
        initializers.append(
            numpy_helper.from_array(np.array([-1, tokens, dim], dtype=np.int64), "shape")
        )
    graph = helper.make_graph(
        nodes,
        "tiny_image_encoder",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=initializers,
    )
    _save(graph, path)
    return weight


def make_text_encoder(
    path: Path, *, context_length: int = 77, dim: int = 8, seed: int = 1
) -> FloatArray:
    """``[N,L] int64 -> float @ W -> [N,D]``; returns W."""
    weight = np.random.default_rng(seed).standard_normal((context_length, dim)).astype(np.float32)
    weight /= np.float32(50000.0)  # token ids are up to ~49k
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["input_ids"], ["ids_f"], to=TensorProto.FLOAT),
            helper.make_node("MatMul", ["ids_f", "W"], ["text_embeds"]),
        ],
        "tiny_text_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", context_length])],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["N", dim])],
        initializer=[numpy_helper.from_array(weight, "W")],
    )
    _save(graph, path)
    return weight


TINY_MERGES = [
    ("c", "a"),
    ("ca", "t</w>"),
    ("d", "o"),
    ("do", "g</w>"),
    ("p", "h"),
    ("ph", "o"),
    ("t", "o</w>"),
    ("pho", "to</w>"),
    ("o", "f</w>"),
    ("a", "n</w>"),
    ("e", "r"),
    ("er", "s</w>"),
]


def make_vocab(path: Path, merges: list[tuple[str, str]] = TINY_MERGES) -> Path:
    """A merges file in CLIP's ``bpe_simple_vocab_16e6.txt.gz`` format (version line first)."""
    lines = ["#version: 0.2-test", *(f"{a} {b}" for a, b in merges)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def job(tmp_path: Path, name: str, input_path: Path | None, **params: object) -> JobContext:
    job_dir = tmp_path / "jobs" / name
    job_dir.mkdir(parents=True, exist_ok=True)
    return JobContext(job_id=name, job_dir=job_dir, input_path=input_path, params=params)
