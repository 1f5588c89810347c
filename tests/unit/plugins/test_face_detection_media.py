"""face_detection's default detector (BlazeFace tiles + HOG verification) on the shared photos.

Counts from ../shared/media/README.md: 29 faces in the Solvay group photo, one in each portrait
(obama_partial_face included: the face is cut by the frame edge but is one face), none in the
images/ set except astronaut.jpg (one). Each photo is detected once (module-scoped fixture).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cl_server.plugins.face_detection.blazeface import (
    MAX_TILES,
    BlazeFaceDetector,
    model_path,
    tile_origins,
    tile_plan,
)
from cl_server.plugins.face_detection.runner import FaceDetectionRunner, load_detector
from tests.unit.plugins.ml_support import job

MEDIA = Path(__file__).resolve().parents[3].parent / "shared" / "media"
FACES = MEDIA / "faces"
IMAGES = MEDIA / "images"
LANDMARKS = {"right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left"}
EXPECTED = {
    **{p.name: 1 for p in sorted(FACES.glob("*.jpg"))},
    "solvay_conference_1927.jpg": 29,
    **{p.name: 0 for p in sorted(IMAGES.glob("*.jpg"))},
    "astronaut.jpg": 1,
}
PATHS = {**{p.name: p for p in FACES.glob("*.jpg")}, **{p.name: p for p in IMAGES.glob("*.jpg")}}

needs_media = pytest.mark.skipif(
    not FACES.is_dir() or not IMAGES.is_dir(), reason="../shared/media is not on this machine"
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Path]]:
    """Every shared photo through the default runner once: ``{name: (task_output, job_dir)}``."""
    if not FACES.is_dir() or not IMAGES.is_dir():
        pytest.skip("../shared/media is not on this machine")
    runner = FaceDetectionRunner(load_detector(None))
    assert isinstance(runner.detector, BlazeFaceDetector)
    root = tmp_path_factory.mktemp("media")
    out: dict[str, tuple[dict[str, Any], Path]] = {}
    for name, path in sorted(PATHS.items()):
        ctx = job(root, name, path)
        out[name] = (runner.run(ctx), ctx.job_dir)
    return out


def test_weights_ship_with_the_package() -> None:
    path = model_path()
    assert path is not None and path.name == "face_detection_full_range.tflite"
    assert path.stat().st_size > 100_000


def test_tiles_cover_the_image_and_stay_within_budget() -> None:
    for length, tile in [(3000, 750), (192, 192), (100, 192), (1000, 300)]:
        origins = tile_origins(length, tile)
        assert origins[0] <= 0 and origins[-1] + tile >= length
        for a, b in itertools.pairwise(origins):
            assert b - a <= tile * 0.75 + 1  # at least 25 % overlap
    plan = tile_plan(3000, 2171)
    assert plan[0] == 3000 and plan == sorted(plan, reverse=True)
    for size in plan[1:]:
        assert len(tile_origins(3000, size)) * len(tile_origins(2171, size)) <= MAX_TILES
    assert tile_plan(320, 240) == [320]


@needs_media
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_face_count_per_photo(runs: dict[str, tuple[dict[str, Any], Path]], name: str) -> None:
    out, _job_dir = runs[name]
    assert out["num_faces"] == EXPECTED[name], [f["confidence"] for f in out["faces"]]


@needs_media
def test_output_shape_landmarks_and_crops(runs: dict[str, tuple[dict[str, Any], Path]]) -> None:
    for name, (out, job_dir) in runs.items():
        with Image.open(PATHS[name]) as img:
            assert (out["image_width"], out["image_height"]) == img.size
        assert set(out) == {"faces", "num_faces", "image_width", "image_height"}
        assert json.loads((job_dir / "output/face_detection.json").read_text()) == out
        for i, face in enumerate(out["faces"]):
            box, marks = face["bbox"], face["landmarks"]
            assert set(marks) == LANDMARKS and set(box) == {"x1", "y1", "x2", "y2"}
            assert 0.0 <= box["x1"] < box["x2"] <= 1.0 and 0.0 <= box["y1"] < box["y2"] <= 1.0
            assert 0.7 <= face["confidence"] <= 1.0
            for point in marks.values():
                assert len(point) == 2 and all(0.0 <= v <= 1.0 for v in point)
            # Landmarks lie in (a slightly enlarged) box and in a face's order.
            w, h = box["x2"] - box["x1"], box["y2"] - box["y1"]
            for x, y in marks.values():
                assert box["x1"] - 0.1 * w <= x <= box["x2"] + 0.1 * w, name
                assert box["y1"] - 0.1 * h <= y <= box["y2"] + 0.1 * h, name
            assert marks["right_eye"][0] < marks["left_eye"][0], name
            assert max(marks["right_eye"][1], marks["left_eye"][1]) < marks["mouth_left"][1]
            assert face["file_path"] == f"faces/face_{i}.png"
            with Image.open(job_dir / face["file_path"]) as crop:
                assert crop.size == (112, 112) and crop.format == "PNG"


@needs_media
def test_solvay_faces_are_distinct_and_small(runs: dict[str, tuple[dict[str, Any], Path]]) -> None:
    out, _ = runs["solvay_conference_1927.jpg"]
    widths = [(f["bbox"]["x2"] - f["bbox"]["x1"]) * out["image_width"] for f in out["faces"]]
    assert all(40 <= w <= 150 for w in widths), widths
    centres = [
        ((f["bbox"]["x1"] + f["bbox"]["x2"]) / 2, (f["bbox"]["y1"] + f["bbox"]["y2"]) / 2)
        for f in out["faces"]
    ]
    for i, a in enumerate(centres):
        for b in centres[i + 1 :]:
            assert abs(a[0] - b[0]) > 0.01 or abs(a[1] - b[1]) > 0.01  # no face twice


def test_falls_back_to_hog_without_blazeface(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from cl_server.plugins.face_detection import runner as runner_module
    from cl_server.plugins.face_detection.detector import FaceDetector

    monkeypatch.setattr(runner_module, "model_path", lambda: None)
    with caplog.at_level("WARNING"):
        detector = load_detector(None)
    assert isinstance(detector, FaceDetector)
    assert "HOG" in caplog.text


def test_falls_back_to_hog_without_the_litert_runtime(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sys

    from cl_server.plugins.face_detection.detector import FaceDetector

    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # import fails
    with caplog.at_level("WARNING"):
        detector = load_detector(None)
    assert isinstance(detector, FaceDetector)
    assert "BlazeFace unavailable" in caplog.text


@needs_media
def test_blazeface_keypoints_give_landmarks_near_dlibs(
    runs: dict[str, tuple[dict[str, Any], Path]],
) -> None:
    # The landmark path for faces HOG does not confirm: BlazeFace's own keypoints.
    import numpy as np

    from cl_server.plugins.face_detection.blazeface import five_from_blazeface

    detector = load_detector(None)
    assert isinstance(detector, BlazeFaceDetector)
    img = Image.open(FACES / "obama.jpg").convert("RGB")
    boxes, _scores, keypoints = detector.proposals(img, 0.7)
    assert len(boxes) == 1
    five = five_from_blazeface(keypoints[0])
    out, _ = runs["obama.jpg"]
    marks = out["faces"][0]["landmarks"]
    size = np.array([img.width, img.height], dtype=np.float64)
    dlib_five = np.array([marks[n] for n in ("right_eye", "left_eye")]) * size
    eye_dist = float(np.linalg.norm(dlib_five[1] - dlib_five[0]))
    assert float(np.abs(five[:2] - dlib_five).max()) < 0.25 * eye_dist
    assert five[0][0] < five[2][0] < five[1][0]  # subject's right eye on the image's left
    assert five[3][0] < five[4][0] and five[3][1] > five[2][1]  # mouth below the nose
