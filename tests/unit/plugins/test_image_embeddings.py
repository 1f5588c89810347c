"""clip_embedding and dino_embedding: the loading and inference path on tiny ONNX models with the
real contracts, checked against a NumPy computation; real-weight tests where weights exist."""

from __future__ import annotations

import csv
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
from tests.unit.plugins.ml_support import SHARED, job, make_image_encoder, real_models_dir

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


# --- real weights (../shared/models or CL_TEST_MODELS_DIR) on ../shared/media/images -----------

IMAGES = SHARED / "media" / "images"
CLIP_FILES = ("vision_model.onnx", "text_model.onnx", "bpe_simple_vocab_16e6.txt.gz")


def real_root_with(model: str, *files: str) -> Path:
    root = real_models_dir()
    if root is None or not all((root / model / f).is_file() for f in files):
        pytest.skip(f"real {model} weights are not on this machine (../shared/models absent)")
    return root


def labelled_images() -> dict[str, str]:
    """``{file: caption}`` from ``images/labels.tsv`` (see ../shared/media/README.md)."""
    labels = IMAGES / "labels.tsv"
    if not labels.is_file():
        pytest.skip("../shared/media/images/labels.tsv is not on this machine")
    with labels.open(newline="") as f:
        return {row["file"]: row["caption"] for row in csv.DictReader(f, delimiter="\t")}


def test_real_clip_ranks_each_images_own_caption_first(tmp_path: Path) -> None:
    """Zero-shot classification: of all the captions, an image's own is the closest."""
    from cl_server.plugins.clip_text_embedding.spec import ClipTextEmbeddingSpec

    root = real_root_with("mobileclip-s2", *CLIP_FILES)
    captions = labelled_images()
    image_runner = ClipEmbeddingSpec().load(root)
    text_runner = ClipTextEmbeddingSpec().load(root)
    names = list(captions)
    texts = np.stack(
        [
            _embed(text_runner, tmp_path, f"t{i}", None, "clip_text_embedding", text=captions[n])
            for i, n in enumerate(names)
        ]
    )
    ranked_first: dict[str, str] = {}
    for i, name in enumerate(names):
        image = _embed(image_runner, tmp_path, f"i{i}", IMAGES / name, "clip_embedding")
        assert image.shape == (512,)
        ranked_first[name] = captions[names[int(np.argmax(texts @ image))]]
    assert ranked_first == captions


def test_real_dino_puts_a_crop_flip_closer_than_every_other_image(tmp_path: Path) -> None:
    root = real_root_with("dinov2-vits14", "model.onnx")
    names = list(labelled_images())
    runner = DinoEmbeddingSpec().load(root)
    originals: list[np.ndarray] = []
    variants: list[np.ndarray] = []
    for i, name in enumerate(names):
        img = open_rgb(IMAGES / name)
        w, h = img.size
        variant = img.crop((w // 10, h // 10, w - w // 10, h - h // 10))
        variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / f"v{i}.png")
        originals.append(_embed(runner, tmp_path, f"o{i}", IMAGES / name, "dino_embedding"))
        variants.append(_embed(runner, tmp_path, f"v{i}", tmp_path / f"v{i}.png", "dino_embedding"))
    assert originals[0].shape == (384,)
    own = np.sum(np.stack(originals) * np.stack(variants), axis=1)  # cosine: vectors are unit
    others = np.stack(originals) @ np.stack(originals).T
    np.fill_diagonal(others, -np.inf)
    closer = {name: bool(own[i] > others[i].max()) for i, name in enumerate(names)}
    assert closer == dict.fromkeys(names, True), (own.round(3), others.max(axis=1).round(3))


def _embed(
    runner: PluginRunner, tmp_path: Path, name: str, path: Path | None, task: str, **params: object
) -> np.ndarray:
    ctx = job(tmp_path, name, path, **params)
    runner.run(ctx)
    return np.load(ctx.job_dir / "output" / f"{task}.npy")
