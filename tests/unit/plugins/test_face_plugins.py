"""face_detection and face_embedding with the real dlib models on real photos.

The photos in tests/data/faces are public-domain White House photographs (three of Barack Obama,
one of Joe Biden), taken from the face_recognition 1.3.0 sdist's test images and downscaled.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from cl_server.errors import PluginError
from cl_server.plugins._ml.images import laplacian_variance
from cl_server.plugins.face_detection.runner import FaceDetectionRunner
from cl_server.plugins.face_detection.spec import FaceDetectionParams, FaceDetectionSpec
from cl_server.plugins.face_embedding.runner import FaceEmbeddingRunner, quality_score
from cl_server.plugins.face_embedding.spec import FaceEmbeddingSpec
from tests.unit.plugins.ml_support import SHARED, job

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"
PEOPLE = {"obama.jpg": "obama", "obama2.jpg": "obama", "obama3.jpg": "obama", "biden.jpg": "biden"}
LANDMARKS = {"right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left"}


@pytest.fixture(scope="module")
def detector() -> FaceDetectionRunner:
    runner = FaceDetectionSpec().load()
    assert isinstance(runner, FaceDetectionRunner)
    return runner


@pytest.fixture(scope="module")
def embedder() -> FaceEmbeddingRunner:
    runner = FaceEmbeddingSpec().load()
    assert isinstance(runner, FaceEmbeddingRunner)
    return runner


@pytest.fixture(scope="module")
def portraits(
    detector: FaceDetectionRunner, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[dict[str, object], Path]]:
    """face_detection run once per portrait: ``{name: (task_output, job_dir)}``."""
    root = tmp_path_factory.mktemp("portraits")
    runs = {}
    for name in PEOPLE:
        ctx = job(root, name, FACES / name)
        runs[name] = (detector.run(ctx), ctx.job_dir)
    return runs


def montage(path: Path, heights: list[int], width: int) -> Path:
    """The four photos side by side at the given heights: several people, several face sizes."""
    images = [Image.open(FACES / name).convert("RGB") for name in PEOPLE]
    canvas = Image.new("RGB", (width, max(heights)), (90, 90, 90))
    x = 0
    for img, h in zip(itertools.cycle(images), heights, strict=False):
        scaled = img.resize((round(img.width * h / img.height), h))
        canvas.paste(scaled, (x, 0))
        x += scaled.width
    canvas.save(path, quality=90)
    return path


def check_protocol_shape(out: dict[str, object], job_dir: Path) -> None:
    assert set(out) == {"faces", "num_faces", "image_width", "image_height"}
    faces = out["faces"]
    assert isinstance(faces, list) and out["num_faces"] == len(faces)
    for i, face in enumerate(faces):
        assert set(face) == {"bbox", "confidence", "landmarks", "file_path"}
        assert set(face["bbox"]) == {"x1", "y1", "x2", "y2"}
        assert set(face["landmarks"]) == LANDMARKS
        assert 0.0 <= face["bbox"]["x1"] < face["bbox"]["x2"] <= 1.0
        assert 0.0 <= face["bbox"]["y1"] < face["bbox"]["y2"] <= 1.0
        assert 0.0 <= face["confidence"] <= 1.0
        for point in face["landmarks"].values():
            assert len(point) == 2 and all(0.0 <= v <= 1.0 for v in point)
        assert face["file_path"] == f"faces/face_{i}.png"
        with Image.open(job_dir / face["file_path"]) as crop:
            assert crop.size == (112, 112) and crop.format == "PNG"
    assert json.loads((job_dir / "output/face_detection.json").read_text()) == out


@pytest.mark.parametrize("name", list(PEOPLE))
def test_one_face_per_portrait_with_landmarks_inside_the_box(
    portraits: dict[str, tuple[dict[str, Any], Path]], name: str
) -> None:
    out, job_dir = portraits[name]
    check_protocol_shape(out, job_dir)
    assert out["num_faces"] == 1
    with Image.open(FACES / name) as img:
        assert (out["image_width"], out["image_height"]) == img.size
    face = out["faces"][0]
    box, marks = face["bbox"], face["landmarks"]
    for x, y in marks.values():
        assert box["x1"] <= x <= box["x2"] and box["y1"] <= y <= box["y2"]
    assert marks["right_eye"][0] < marks["nose_tip"][0] < marks["left_eye"][0]
    assert max(marks["right_eye"][1], marks["left_eye"][1]) < marks["nose_tip"][1]
    assert marks["nose_tip"][1] < marks["mouth_left"][1]
    assert face["confidence"] >= 0.7


def test_finds_every_face_in_a_multi_person_image(
    detector: FaceDetectionRunner, tmp_path: Path
) -> None:
    # Four photos side by side, faces from about 35 to 150 px wide in one 1600x700 image.
    heights = [700, 420, 300, 500]
    path = montage(tmp_path / "group.jpg", heights, 1600)
    ctx = job(tmp_path, "group", path)
    out = detector.run(ctx)
    check_protocol_shape(out, ctx.job_dir)
    # obama2.jpg also shows part of a second person's face at its edge, so 4 or more.
    assert out["num_faces"] >= 4
    centres = [(f["bbox"]["x1"] + f["bbox"]["x2"]) / 2 * 1600 for f in out["faces"]]
    x = 0
    for name, h in zip(PEOPLE, heights, strict=True):
        with Image.open(FACES / name) as img:
            width = round(img.width * h / img.height)
        assert any(x <= c < x + width for c in centres), f"no face found in {name}"
        x += width


def test_finds_small_faces_in_a_crowd(detector: FaceDetectionRunner, tmp_path: Path) -> None:
    # Twelve people whose faces are about 32 px wide (heights chosen per photo) in one image.
    path = montage(tmp_path / "crowd.jpg", [137, 115, 281, 236] * 3, 1400)
    out = detector.run(job(tmp_path, "crowd", path))
    widths = [(f["bbox"]["x2"] - f["bbox"]["x1"]) * 1400 for f in out["faces"]]
    assert out["num_faces"] == 12
    assert max(widths) < 45


def test_thresholds_are_honoured(detector: FaceDetectionRunner, tmp_path: Path) -> None:
    path = montage(tmp_path / "group.jpg", [350, 210, 150, 250], 800)
    strict = detector.run(job(tmp_path, "strict", path, confidence_threshold=0.99))
    loose = detector.run(job(tmp_path, "loose", path, confidence_threshold=0.2))
    none = detector.run(job(tmp_path, "none", path, confidence_threshold=1.0))
    assert none["num_faces"] == 0
    assert strict["num_faces"] <= loose["num_faces"]
    assert any(f["confidence"] < 0.99 for f in loose["faces"])  # the threshold removed some
    assert all(f["confidence"] >= 0.99 for f in strict["faces"])
    assert all(f["confidence"] >= 0.2 for f in loose["faces"])
    # nms_threshold 0 keeps no two overlapping boxes
    tight = detector.run(job(tmp_path, "tight", path, confidence_threshold=0.2, nms_threshold=0.0))
    boxes = [f["bbox"] for f in tight["faces"]]
    for a, b in itertools.combinations(boxes, 2):
        overlap_x = min(a["x2"], b["x2"]) - max(a["x1"], b["x1"])
        overlap_y = min(a["y2"], b["y2"]) - max(a["y1"], b["y1"])
        assert overlap_x <= 0 or overlap_y <= 0


def test_no_face_completes_with_zero_faces(detector: FaceDetectionRunner, tmp_path: Path) -> None:
    path = tmp_path / "sky.png"
    gradient = np.linspace(0, 255, 320 * 240, dtype=np.float64).reshape(240, 320)
    Image.fromarray(gradient.astype(np.uint8)).convert("RGB").save(path)
    ctx = job(tmp_path, "sky", path)
    out = detector.run(ctx)
    assert out == {"faces": [], "num_faces": 0, "image_width": 320, "image_height": 240}
    check_protocol_shape(out, ctx.job_dir)


def test_bad_inputs_fail_with_readable_messages(
    detector: FaceDetectionRunner, embedder: FaceEmbeddingRunner, tmp_path: Path
) -> None:
    text = tmp_path / "a.txt"
    text.write_text("hello")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes((FACES / "obama.jpg").read_bytes()[:5000])
    huge = tmp_path / "huge.png"
    Image.new("1", (12_000, 9_000)).save(huge)
    for path, message in [(text, "not an image"), (truncated, "truncated"), (huge, "too large")]:
        with pytest.raises(PluginError, match=message):
            detector.run(job(tmp_path, f"d-{path.name}", path))
        with pytest.raises(PluginError, match=message):
            embedder.run(job(tmp_path, f"e-{path.name}", path))


def test_params_validation() -> None:
    assert FaceDetectionParams.model_validate({}) == FaceDetectionParams(
        confidence_threshold=0.7, nms_threshold=0.4
    )
    for bad in ({"confidence_threshold": "1.5"}, {"nms_threshold": "-0.1"}):
        with pytest.raises(ValueError):
            FaceDetectionParams.model_validate(bad)


# --- face_embedding ------------------------------------------------------------------------


def embed(runner: FaceEmbeddingRunner, tmp_path: Path, name: str, path: Path) -> np.ndarray:
    ctx = job(tmp_path, name, path, normalize=True)
    out = runner.run(ctx)
    assert out["embedding_dim"] == 128 and out["normalized"] is True
    assert out["quality_score"] is not None and 0.0 <= out["quality_score"] <= 1.0
    vec = np.load(ctx.job_dir / "output/face_embedding.npy")
    assert vec.shape == (128,) and vec.dtype == np.float32
    assert float(np.linalg.norm(vec)) == pytest.approx(1.0, abs=1e-5)
    return vec


def assert_same_person_closer(vectors: dict[str, np.ndarray], people: dict[str, str]) -> None:
    same, different = [], []
    for a, b in itertools.combinations(vectors, 2):
        distance = float(np.linalg.norm(vectors[a] - vectors[b]))
        (same if people[a] == people[b] else different).append(distance)
    assert same and different
    assert max(same) < min(different), (same, different)


def test_same_person_closer_than_different_people_on_every_pair(
    portraits: dict[str, tuple[dict[str, Any], Path]], embedder: FaceEmbeddingRunner, tmp_path: Path
) -> None:
    # The usual flow: face_detection's aligned crop is face_embedding's input.
    vectors = {
        name: embed(embedder, tmp_path, f"e-{name}", job_dir / "faces/face_0.png")
        for name, (_out, job_dir) in portraits.items()
    }
    assert_same_person_closer(vectors, PEOPLE)


def test_whole_photos_batched_equal_single_and_keep_people_apart(
    embedder: FaceEmbeddingRunner, tmp_path: Path
) -> None:
    names = list(PEOPLE)
    singles = {n: embed(embedder, tmp_path, f"s{i}", FACES / n) for i, n in enumerate(names)}
    assert_same_person_closer(singles, PEOPLE)
    ctxs = [job(tmp_path, f"b{i}", FACES / n, normalize=True) for i, n in enumerate(names)]
    results = embedder.run_batch(ctxs)
    assert all(isinstance(r, dict) for r in results)
    for ctx, name in zip(ctxs, names, strict=True):
        np.testing.assert_allclose(
            np.load(ctx.job_dir / "output/face_embedding.npy"), singles[name], atol=1e-5
        )


def test_quality_score_follows_laplacian_variance(tmp_path: Path) -> None:
    flat = Image.new("RGB", (50, 50), (120, 120, 120))
    assert laplacian_variance(flat) == 0.0 and quality_score(0.0) == 0.0
    pixels = np.zeros((5, 5), dtype=np.uint8)
    pixels[2, 2] = 10  # Laplacian over the 3x3 interior: -40 at the centre, 10 at 4 neighbours
    got = laplacian_variance(Image.fromarray(pixels).convert("RGB"))
    assert got == pytest.approx(np.array([0, 10, 0, 10, -40, 10, 0, 10, 0.0]).var())
    assert quality_score(1e6) == 1.0
    with Image.open(FACES / "obama2.jpg") as img:
        sharp = img.convert("RGB").resize((200, 380))
    blurred = sharp.filter(ImageFilter.GaussianBlur(6))
    assert laplacian_variance(blurred) < laplacian_variance(sharp)


def test_image_without_a_detectable_face_is_embedded_whole(
    embedder: FaceEmbeddingRunner, tmp_path: Path
) -> None:
    path = tmp_path / "flat.png"
    Image.new("RGB", (112, 112), (200, 180, 160)).save(path)
    out = embedder.run(job(tmp_path, "flat", path))
    assert out["embedding_dim"] == 128 and out["quality_score"] == 0.0


def test_shared_face_set_when_present(
    detector: FaceDetectionRunner, embedder: FaceEmbeddingRunner, tmp_path: Path
) -> None:
    """../shared/media/faces: every face found; obama*.jpg closer to each other than to the rest."""
    folder = SHARED / "media" / "faces"
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not photos:
        pytest.skip("../shared/media/faces is not on this machine")
    vectors, people = {}, {}
    for i, photo in enumerate(photos):
        out = detector.run(job(tmp_path, f"d{i}", photo))
        assert out["num_faces"] >= 1, photo.name
        if out["num_faces"] == 1:
            vectors[photo.name] = embed(embedder, tmp_path, f"e{i}", photo)
            # obama.jpg, obama2.jpg, obama3.jpg, obama_partial_face.jpg are one person.
            people[photo.name] = re.sub(r"(\d+|_partial_face)$", "", photo.stem)
    if len(set(people.values())) > 1:
        assert_same_person_closer(vectors, people)
