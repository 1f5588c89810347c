"""The ML plugins through the real service: HTTP upload, a real worker process, downloads.

CLIP runs on tiny generated ONNX models (real weights are not on every machine) placed in a
directory passed with ``CL_MODELS_DIR``; face detection and embedding run dlib's real models.
DINO's weights are left out on purpose: the worker must not advertise ``dino_embedding``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from cl_server.plugins.clip_embedding.spec import ClipEmbeddingSpec
from tests.support.jobs import submit, submit_ok, wait_for_status
from tests.support.stack import Stack, running_stack
from tests.unit.plugins.ml_support import job, make_image_encoder, make_text_encoder, make_vocab

pytestmark = pytest.mark.integration

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
TASKS = [
    "face_detection",
    "face_embedding",
    "clip_embedding",
    "clip_text_embedding",
    "dino_embedding",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    clip = root / "mobileclip-s2"
    make_image_encoder(clip / "vision_model.onnx", size=16, dim=8)
    make_text_encoder(clip / "text_model.onnx", dim=8)
    make_vocab(clip / "bpe_simple_vocab_16e6.txt.gz")
    return root


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("photos")
    paths = []
    for i in range(4):
        pixels = np.random.default_rng(i).integers(0, 256, (40, 60, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"p{i}.png")
        paths.append(root / f"p{i}.png")
    return paths


@pytest.fixture(scope="module")
def ml_stack(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, photos: list[Path]
) -> Iterator[tuple[Stack, list[str]]]:
    with running_stack(tmp_path_factory.mktemp("ml"), mode="no-auth", workers=0) as stack:
        # Queue CLIP jobs before any worker exists, so the worker claims them as one batch.
        queued = [submit_ok(stack.compute_url, "clip_embedding", p) for p in photos]
        stack.start_worker(TASKS, extra_env={"CL_MODELS_DIR": str(models_dir)})
        stack.wait_for_workers(1)
        yield stack, queued


def download(stack: Stack, job_id: str, path: str) -> bytes:
    response = httpx.get(f"{stack.compute_url}/jobs/{job_id}/files/{path}", timeout=10)
    assert response.status_code == 200, response.text
    return response.content


def test_worker_advertises_only_plugins_with_models(ml_stack: tuple[Stack, list[str]]) -> None:
    stack, _ = ml_stack
    caps = httpx.get(f"{stack.compute_url}/capabilities", timeout=10).json()
    assert set(caps["capabilities"]) == set(TASKS) - {"dino_embedding"}
    log = stack.workers[0].log()
    assert "dino_embedding: model 'dinov2-vits14' not found" in log
    assert "cl-server models pull dinov2-vits14" in log


def test_batched_clip_jobs_match_a_direct_run(
    ml_stack: tuple[Stack, list[str]], photos: list[Path], models_dir: Path, tmp_path: Path
) -> None:
    stack, queued = ml_stack
    runner = ClipEmbeddingSpec().load(models_dir)
    for job_id, photo in zip(queued, photos, strict=True):
        result = wait_for_status(stack.compute_url, job_id)
        assert result["status"] == "completed", result
        assert result["task_output"] == {"embedding_dim": 8, "normalized": True}
        served = np.load(io.BytesIO(download(stack, job_id, "output/clip_embedding.npy")))
        ctx = job(tmp_path, photo.stem, photo)
        runner.run(ctx)
        direct = np.load(ctx.job_dir / "output/clip_embedding.npy")
        np.testing.assert_allclose(served, direct, atol=1e-5)


def test_clip_text_job_needs_no_file(ml_stack: tuple[Stack, list[str]]) -> None:
    stack, _ = ml_stack
    job_id = submit_ok(stack.compute_url, "clip_text_embedding", None, data={"text": "a cat"})
    result = wait_for_status(stack.compute_url, job_id)
    assert result["status"] == "completed", result
    assert result["params"]["output_path"] == "output/clip_text_embedding.npy"
    vec = np.load(io.BytesIO(download(stack, job_id, "output/clip_text_embedding.npy")))
    assert vec.shape == (8,) and vec.dtype == np.float32
    empty = submit(stack.compute_url, "clip_text_embedding", None, data={"text": "  "})
    assert empty.status_code == 422


def test_face_detection_then_embedding_of_the_crop(ml_stack: tuple[Stack, list[str]]) -> None:
    stack, _ = ml_stack
    det_id = submit_ok(stack.compute_url, "face_detection", FACES / "obama2.jpg")
    det = wait_for_status(stack.compute_url, det_id)
    assert det["status"] == "completed", det
    assert det["task_output"]["num_faces"] == 1
    assert det["task_output"]["faces"][0]["file_path"] == "faces/face_0.png"
    crop = download(stack, det_id, "faces/face_0.png")
    with Image.open(io.BytesIO(crop)) as img:
        assert img.size == (112, 112)

    crop_path = stack.data_dir / "crop.png"
    crop_path.write_bytes(crop)
    emb_id = submit_ok(stack.compute_url, "face_embedding", crop_path)
    emb = wait_for_status(stack.compute_url, emb_id)
    assert emb["status"] == "completed", emb
    assert emb["task_output"]["embedding_dim"] == 128
    assert 0.0 <= emb["task_output"]["quality_score"] <= 1.0


def test_bad_media_fails_readably_and_no_face_completes(
    ml_stack: tuple[Stack, list[str]], tmp_path: Path
) -> None:
    stack, _ = ml_stack
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    bad = wait_for_status(stack.compute_url, submit_ok(stack.compute_url, "face_detection", text))
    assert bad["status"] == "failed"
    assert "not an image" in bad["error_message"]
    assert bad["task_output"] is None

    blank = tmp_path / "wall.png"
    Image.new("RGB", (200, 150), (180, 180, 170)).save(blank)
    done = wait_for_status(stack.compute_url, submit_ok(stack.compute_url, "face_detection", blank))
    assert done["status"] == "completed"
    assert done["task_output"] == {
        "faces": [],
        "num_faces": 0,
        "image_width": 200,
        "image_height": 150,
    }
    # The worker survived both and still serves.
    caps = httpx.get(f"{stack.compute_url}/capabilities", timeout=10).json()
    assert caps["num_workers"] == 1


def test_heic_photos_are_read_by_ml_workers(
    ml_stack: tuple[Stack, list[str]], tmp_path: Path
) -> None:
    """Phones save HEIC; an ML-only worker must read it without a media plugin loaded first."""
    from pillow_heif import register_heif_opener

    register_heif_opener()  # for writing the sample here; the worker is another process
    stack, _ = ml_stack
    heic = tmp_path / "face.heic"
    with Image.open(FACES / "obama.jpg") as img:
        img.save(heic, "HEIF", quality=90)
    embedded = wait_for_status(
        stack.compute_url, submit_ok(stack.compute_url, "clip_embedding", heic)
    )
    assert embedded["status"] == "completed", embedded
    found = wait_for_status(stack.compute_url, submit_ok(stack.compute_url, "face_detection", heic))
    assert found["status"] == "completed", found
    assert found["task_output"]["num_faces"] == 1
