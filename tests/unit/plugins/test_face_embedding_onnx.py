"""face_embedding with an ArcFace-class ONNX model (auraface-v1's contract, tiny generated weights).

The tiny model has glintr100.onnx's contract, ``[N,3,112,112] float32 -> [N,512]`` (average-pool
8x8, then a seeded random matrix), so the expected embedding of an aligned crop can be computed
with NumPy. Without the file, the same plugin falls back to dlib's 128-d model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cl_server.errors import PluginUnavailableError
from cl_server.plugins.face_detection.geometry import ARCFACE_TEMPLATE
from cl_server.plugins.face_embedding.arcface import ArcFaceEmbedder
from cl_server.plugins.face_embedding.embedder import FaceEmbedder
from cl_server.plugins.face_embedding.runner import FaceEmbeddingRunner
from cl_server.plugins.face_embedding.spec import FaceEmbeddingSpec
from tests.unit.plugins.ml_support import SHARED, FloatArray, job, make_image_encoder

REPO_FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
POOL = 8


def face_photo(name: str) -> Path:
    for folder in (SHARED / "media" / "faces", REPO_FACES):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is neither in ../shared/media/faces nor in tests/data/faces")


@pytest.fixture(autouse=True)
def isolated_model_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the models_dir a test passes (and installed packages) hold models."""
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CL_MODELS_DIR", raising=False)


def make_arcface(models: Path, *, size: int = 112, dim: int = 512) -> FloatArray:
    path = models / "auraface-v1" / "glintr100.onnx"
    return make_image_encoder(path, size=size, dim=dim, pool=POOL, input_name="input.1")


def expected_embedding(crop: Image.Image, weight: FloatArray) -> FloatArray:
    x = (np.asarray(crop, dtype=np.float32) / 255.0 - 0.5) / 0.5  # [112, 112, 3]
    chw = x.transpose(2, 0, 1)
    pooled = chw.reshape(3, 112 // POOL, POOL, 112 // POOL, POOL).mean(axis=(2, 4))
    vec = pooled.reshape(-1) @ weight
    return (vec / np.linalg.norm(vec)).astype(np.float32)


def load(models: Path) -> FaceEmbeddingRunner:
    runner = FaceEmbeddingSpec().load(models)
    assert isinstance(runner, FaceEmbeddingRunner)
    return runner


def check_output(out: dict[str, object], job_dir: Path, dim: int) -> FloatArray:
    assert set(out) == {"embedding_dim", "normalized", "quality_score"}
    assert out["embedding_dim"] == dim and out["normalized"] is True
    quality = out["quality_score"]
    assert isinstance(quality, float) and 0.0 <= quality <= 1.0
    vec = np.load(job_dir / "output/face_embedding.npy")
    assert vec.shape == (dim,) and vec.dtype == np.float32
    assert float(np.linalg.norm(vec)) == pytest.approx(1.0, abs=1e-5)
    return vec


def test_onnx_model_gives_512_d_embeddings_of_a_photo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = tmp_path / "models"
    make_arcface(models)
    with caplog.at_level(logging.INFO, logger="cl_server.plugins.face_embedding.runner"):
        runner = load(models)
    assert isinstance(runner.embedder, ArcFaceEmbedder)
    assert runner.embedder.encoder.provider == "CPUExecutionProvider"
    assert any("using auraface-v1 (512-d" in r.getMessage() for r in caplog.records)
    photo = face_photo("obama.jpg")
    ctx = job(tmp_path, "obama", photo, normalize=True)
    single = check_output(runner.run(ctx), ctx.job_dir, 512)
    # batched == single
    ctxs = [job(tmp_path, f"b{i}", photo, normalize=True) for i in range(3)]
    assert all(isinstance(r, dict) for r in runner.run_batch(ctxs))
    for c in ctxs:
        np.testing.assert_allclose(np.load(c.job_dir / "output/face_embedding.npy"), single, 1e-5)


def test_without_the_onnx_file_dlib_gives_128_d(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cl_server.plugins.face_embedding.runner"):
        runner = load(tmp_path / "models")
    assert isinstance(runner.embedder, FaceEmbedder)
    assert any("using dlib ResNet v1 (128-d)" in r.getMessage() for r in caplog.records)
    ctx = job(tmp_path, "obama", face_photo("obama.jpg"), normalize=True)
    check_output(runner.run(ctx), ctx.job_dir, 128)


def test_aligned_112_crop_is_fed_as_is_with_arcface_normalisation(tmp_path: Path) -> None:
    models = tmp_path / "models"
    weight = make_arcface(models)
    runner = load(models)
    with Image.open(face_photo("obama.jpg")) as img:
        crop = img.convert("RGB").resize((112, 112))
    path = tmp_path / "face_0.png"
    crop.save(path)
    ctx = job(tmp_path, "crop", path)
    vec = check_output(runner.run(ctx), ctx.job_dir, 512)
    np.testing.assert_allclose(vec, expected_embedding(crop, weight), atol=1e-4)
    # normalize=false keeps the model's raw vector
    raw_ctx = job(tmp_path, "raw", path, normalize=False)
    assert runner.run(raw_ctx)["normalized"] is False
    raw = np.load(raw_ctx.job_dir / "output/face_embedding.npy")
    np.testing.assert_allclose(raw / np.linalg.norm(raw), vec, atol=1e-5)


def test_photo_is_aligned_onto_the_arcface_template(tmp_path: Path) -> None:
    models = tmp_path / "models"
    make_arcface(models)
    embedder = load(models).embedder
    assert isinstance(embedder, ArcFaceEmbedder)
    with Image.open(face_photo("obama.jpg")) as img:
        photo = img.convert("RGB")
    crop, detected = embedder.aligned(photo)
    assert detected and crop.size == (112, 112)
    # The eyes land on the template's eye positions: the eye rows are darker than the cheeks
    # 20 px below them (a crude but model-free check that the face is upright and in place).
    gray = np.asarray(crop.convert("L"), dtype=np.float64)
    eye_y = round(float(ARCFACE_TEMPLATE[:2, 1].mean()))
    eyes = [
        gray[eye_y - 2 : eye_y + 3, round(x) - 3 : round(x) + 4].mean()
        for x in ARCFACE_TEMPLATE[:2, 0]
    ]
    cheeks = [
        gray[eye_y + 18 : eye_y + 23, round(x) - 3 : round(x) + 4].mean()
        for x in ARCFACE_TEMPLATE[:2, 0]
    ]
    assert all(e < c for e, c in zip(eyes, cheeks, strict=True)), (eyes, cheeks)


def test_corrupt_onnx_file_is_unavailable_not_a_silent_fallback(tmp_path: Path) -> None:
    path = tmp_path / "models" / "auraface-v1" / "glintr100.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx model" * 100)
    with pytest.raises(PluginUnavailableError, match=r"^face_embedding: model file .*glintr100"):
        FaceEmbeddingSpec().load(tmp_path / "models")


def test_onnx_file_with_another_contract_is_unavailable(tmp_path: Path) -> None:
    make_arcface(tmp_path / "models", size=64)
    with pytest.raises(PluginUnavailableError, match=r"auraface-v1.*expected \[N, 3, 112, 112\]"):
        FaceEmbeddingSpec().load(tmp_path / "models")


def test_bad_provider_setting_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_arcface(tmp_path / "models")
    monkeypatch.setenv("CL_ONNX_PROVIDERS", "no-such-provider")
    with pytest.raises(PluginUnavailableError, match="unknown ONNX execution provider"):
        FaceEmbeddingSpec().load(tmp_path / "models")
