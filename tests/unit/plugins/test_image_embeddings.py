"""clip_embedding and dino_embedding: the loading and inference path on tiny ONNX models with the
real contracts, checked against a NumPy computation; real-weight tests where weights exist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cl_server.errors import PluginError, PluginUnavailableError
from cl_server.models.registry import DINOV2_VITS14, MOBILECLIP_S2
from cl_server.plugins._ml.images import encoder_input, open_rgb
from cl_server.plugins._ml.params import NormalizeParams
from cl_server.plugins.base import PluginRunner, PluginSpec
from cl_server.plugins.clip_embedding.spec import ClipEmbeddingSpec
from cl_server.plugins.dino_embedding.spec import DinoEmbeddingSpec
from tests.unit.plugins.ml_support import job, make_image_encoder, real_models_dir

SIZE = 16


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CL_MODELS_DIR", raising=False)


def photo(path: Path, seed: int, size: tuple[int, int] = (64, 48)) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


CASES = [
    pytest.param(ClipEmbeddingSpec(), MOBILECLIP_S2, "vision_model.onnx", None, id="clip"),
    pytest.param(DinoEmbeddingSpec(), DINOV2_VITS14, "model.onnx", 5, id="dino-tokens"),
]


@pytest.mark.parametrize(("spec", "model", "file_name", "tokens"), CASES)
def test_embedding_matches_numpy_and_batching_is_identical(
    tmp_path: Path, spec: PluginSpec, model: object, file_name: str, tokens: int | None
) -> None:
    from cl_server.models.registry import ModelInfo

    assert isinstance(model, ModelInfo) and model.image is not None
    root = tmp_path / "models"
    weight = make_image_encoder(root / model.name / file_name, size=SIZE, dim=8, tokens=tokens)
    runner = spec.load(root)
    assert runner.max_batch_size > 1
    contract = model.image.__class__(
        size=SIZE, mean=model.image.mean, std=model.image.std, resample=model.image.resample
    )
    inputs = [photo(tmp_path / f"in{i}.png", seed=i) for i in range(3)]
    singles: list[np.ndarray] = []
    for i, path in enumerate(inputs):
        out = runner.run(job(tmp_path, f"s{i}", path, normalize=True))
        assert out == {"embedding_dim": 8, "normalized": True}
        vec = np.load(tmp_path / "jobs" / f"s{i}" / spec.output_path(NormalizeParams(), None))
        assert vec.dtype == np.float32 and vec.shape == (8,)
        raw = encoder_input(open_rgb(path), contract).reshape(-1) @ weight
        expected = raw[:8]  # the CLS token (first of the sequence) or the only vector
        np.testing.assert_allclose(vec, expected / np.linalg.norm(expected), rtol=1e-4, atol=1e-6)
        singles.append(vec)
    batch = [job(tmp_path, f"b{i}", p, normalize=True) for i, p in enumerate(inputs)]
    results = runner.run_batch(batch)
    assert all(isinstance(r, dict) for r in results)
    for i, single in enumerate(singles):
        batched = np.load(batch[i].job_dir / spec.output_path(NormalizeParams(), None))
        np.testing.assert_allclose(batched, single, atol=1e-5)


def test_normalize_false_keeps_the_raw_vector(tmp_path: Path) -> None:
    root = tmp_path / "models"
    make_image_encoder(root / "mobileclip-s2" / "vision_model.onnx", size=SIZE, dim=8)
    runner = ClipEmbeddingSpec().load(root)
    out = runner.run(job(tmp_path, "raw", photo(tmp_path / "a.png", 1), normalize=False))
    assert out["normalized"] is False
    vec = np.load(tmp_path / "jobs" / "raw" / "output/clip_embedding.npy")
    assert abs(float(np.linalg.norm(vec)) - 1.0) > 1e-3


def test_fixed_batch_model_still_runs_batches(tmp_path: Path) -> None:
    root = tmp_path / "models"
    make_image_encoder(root / "dinov2-vits14" / "model.onnx", size=SIZE, dim=8, batch=1)
    runner = DinoEmbeddingSpec().load(root)
    ctxs = [job(tmp_path, f"j{i}", photo(tmp_path / f"p{i}.png", i)) for i in range(3)]
    results = runner.run_batch(ctxs)
    assert [r["embedding_dim"] for r in results if isinstance(r, dict)] == [8, 8, 8]


def test_bad_input_fails_only_its_own_job(tmp_path: Path) -> None:
    root = tmp_path / "models"
    make_image_encoder(root / "mobileclip-s2" / "vision_model.onnx", size=SIZE, dim=8)
    runner = ClipEmbeddingSpec().load(root)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    good = job(tmp_path, "good", photo(tmp_path / "g.png", 3))
    bad = job(tmp_path, "bad", text_file)
    results = runner.run_batch([bad, good])
    assert isinstance(results[0], PluginError) and "not an image" in str(results[0])
    assert isinstance(results[1], dict)
    with pytest.raises(PluginError, match="not an image"):
        runner.run(bad)


@pytest.mark.parametrize(
    ("spec", "name"),
    [(ClipEmbeddingSpec(), "mobileclip-s2"), (DinoEmbeddingSpec(), "dinov2-vits14")],
)
def test_missing_weights_make_the_plugin_unavailable(
    tmp_path: Path, spec: PluginSpec, name: str
) -> None:
    with pytest.raises(PluginUnavailableError) as info:
        spec.load(tmp_path / "empty")
    assert f"{spec.task_type}: model '{name}' not found" in str(info.value)
    assert f"cl-server models pull {name}" in str(info.value)


def test_unloadable_model_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "models" / "dinov2-vits14" / "model.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not onnx")
    with pytest.raises(PluginUnavailableError, match="could not be loaded"):
        DinoEmbeddingSpec().load(tmp_path / "models")


# --- real weights (../shared/models or CL_TEST_MODELS_DIR) ---------------------------------


def real_root_with(model: str, *files: str) -> Path:
    root = real_models_dir()
    if root is None or not all((root / model / f).is_file() for f in files):
        pytest.skip(f"real {model} weights are not on this machine (../shared/models absent)")
    return root


def test_real_dino_rates_a_crop_closer_than_another_photo(tmp_path: Path) -> None:
    root = real_root_with("dinov2-vits14", "model.onnx")
    faces = Path(__file__).resolve().parents[2] / "data" / "faces"
    a = Image.open(faces / "obama.jpg").convert("RGB")
    a.save(tmp_path / "a.png")
    a.crop((a.width // 8, a.height // 8, a.width * 7 // 8, a.height * 7 // 8)).save(
        tmp_path / "c.png"
    )
    runner = DinoEmbeddingSpec().load(root)
    vecs = {}
    for name, path in [
        ("a", tmp_path / "a.png"),
        ("c", tmp_path / "c.png"),
        ("b", faces / "biden.jpg"),
    ]:
        result = runner.run(job(tmp_path, name, path))
        assert result["embedding_dim"] == 384
        vecs[name] = np.load(tmp_path / "jobs" / name / "output/dino_embedding.npy")
    assert float(vecs["a"] @ vecs["c"]) > float(vecs["a"] @ vecs["b"])


CAPTIONS = {
    "biden.jpg": "a photo of an old man with white hair",
    "obama2.jpg": "a photo of a man speaking into a microphone",
    "obama3.jpg": "a photo of a man standing under a crystal chandelier",
}


def test_real_clip_ranks_the_right_caption_first(tmp_path: Path) -> None:
    from cl_server.plugins.clip_text_embedding.spec import ClipTextEmbeddingSpec

    root = real_root_with(
        "mobileclip-s2", "vision_model.onnx", "text_model.onnx", "bpe_simple_vocab_16e6.txt.gz"
    )
    faces = Path(__file__).resolve().parents[2] / "data" / "faces"
    image_runner = ClipEmbeddingSpec().load(root)
    text_runner = ClipTextEmbeddingSpec().load(root)
    names = list(CAPTIONS)
    texts = np.stack(
        [
            _embed(text_runner, tmp_path, f"t{i}", None, "clip_text_embedding", text=CAPTIONS[n])
            for i, n in enumerate(names)
        ]
    )
    for i, name in enumerate(names):
        image = _embed(image_runner, tmp_path, f"i{i}", faces / name, "clip_embedding")
        assert image.shape == (512,)
        assert names[int(np.argmax(texts @ image))] == name


def _embed(
    runner: PluginRunner, tmp_path: Path, name: str, path: Path | None, task: str, **params: object
) -> np.ndarray:
    ctx = job(tmp_path, name, path, **params)
    runner.run(ctx)
    return np.load(ctx.job_dir / "output" / f"{task}.npy")
