"""Face detection with dlib's HOG detector + 5-point landmarks; aligned 112x112 crops.

Scores: dlib's HOG detector returns an SVM margin (0 is dlib's own decision threshold; clear
frontal faces score about 0.9-2.4 on our test photos, false alarms below -0.2). It is mapped to
[0, 1] with a fixed logistic curve, ``confidence = 1 / (1 + exp(-(score - S0) / T))``, chosen so
that the default ``confidence_threshold`` 0.7 is exactly dlib's own threshold (score 0). It is a
monotone rescaling of the margin, not a calibrated probability; lowering the threshold admits
weaker candidates, raising it keeps only stronger ones.

Small faces: HOG's window is 80x80 pixels and dlib finds faces down to about 40 px when it
upsamples once, 20 px when twice. The image is scanned as finely as a fixed pixel budget allows
(``scan_plan``): upsampled twice when that stays within ``SCAN_BUDGET`` pixels (images up to
0.79 megapixels, such as 1024x768), else once; images above a quarter of the budget (about
2048x1536) are shrunk to that first. The time per image is bounded; small images get the finest
scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from cl_server.plugins.face_detection.geometry import (
    ALIGNED_SIZE,
    ARCFACE_TEMPLATE,
    five_from_dlib,
    invert_affine,
    nms,
    similarity_transform,
)

FloatArray = npt.NDArray[np.float64]

SCAN_BUDGET = 2048 * 1536 * 4
"""Pixels scanned at most (after dlib's upsampling): about 1-2.5 s on one busy CPU core."""
MAX_UPSAMPLE = 2
_T = 0.5
_S0 = -_T * math.log(0.7 / 0.3)
_MIN_SCORE = -2.5  # below this dlib returns noise by the thousand (confidence ~0.03)


def confidence_from_score(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-(score - _S0) / _T))


def score_from_confidence(confidence: float) -> float:
    if confidence <= 0.0:
        return _MIN_SCORE
    if confidence >= 1.0:
        return math.inf
    return max(_MIN_SCORE, _S0 + _T * math.log(confidence / (1.0 - confidence)))


@dataclass(frozen=True)
class Face:
    box: FloatArray
    """``[x1, y1, x2, y2]`` in pixels of the original image."""
    confidence: float
    landmarks: FloatArray
    """``[5, 2]`` pixels, in ``geometry.LANDMARK_NAMES`` order."""
    dlib_points: FloatArray
    """``[5, 2]`` pixels as dlib's 5-point model gives them."""


def scan_plan(width: int, height: int) -> tuple[float, int]:
    """``(scale, upsample)``: shrink factor (<= 1) applied first, then dlib's upsample count."""
    pixels = width * height
    scale = min(1.0, math.sqrt(SCAN_BUDGET / 4 / pixels)) if pixels > 0 else 1.0
    scanned = pixels * scale * scale
    upsample = 0
    while upsample < MAX_UPSAMPLE and scanned * 4 ** (upsample + 1) <= SCAN_BUDGET * 1.0001:
        upsample += 1
    return scale, upsample


class FaceDetector:
    def __init__(self, dlib: ModuleType, landmarks_path: Path) -> None:
        self._detector: Any = dlib.get_frontal_face_detector()
        self._predictor: Any = dlib.shape_predictor(str(landmarks_path))

    def detect(
        self, img: Image.Image, confidence_threshold: float, nms_threshold: float
    ) -> list[Face]:
        """Faces at or above ``confidence_threshold`` after NMS, most confident first."""
        min_score = score_from_confidence(confidence_threshold)
        if math.isinf(min_score):
            return []
        scale, upsample = scan_plan(img.width, img.height)
        scan = img
        if scale < 1.0:
            size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
            scan = img.resize(size, Image.Resampling.BILINEAR)
        pixels = np.asarray(scan, dtype=np.uint8)
        # dlib returns every window scoring above min_score (its own NMS already merged
        # near-identical windows).
        rects, scores, _kinds = self._detector.run(pixels, upsample, min_score)
        kept = [
            (rect, confidence)
            for rect, score in zip(rects, scores, strict=True)
            if (confidence := confidence_from_score(float(score))) >= confidence_threshold
        ]
        if not kept:
            return []
        boxes = np.array(
            [[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r, _c in kept],
            dtype=np.float64,
        )
        confidences = np.array([c for _r, c in kept], dtype=np.float64)
        faces: list[Face] = []
        for i in nms(boxes, confidences, nms_threshold):
            rect, confidence = kept[i]
            shape = self._predictor(pixels, rect)
            points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64) / scale
            faces.append(Face(boxes[i] / scale, confidence, five_from_dlib(points), points))
        return faces


def aligned_crop(img: Image.Image, landmarks: FloatArray) -> Image.Image:
    """112x112 crop: the similarity transform of the 5 landmarks onto the ArcFace template."""
    matrix = similarity_transform(landmarks, ARCFACE_TEMPLATE)
    inverse = invert_affine(matrix)  # PIL maps output pixels back to input pixels
    coeffs = (
        float(inverse[0, 0]),
        float(inverse[0, 1]),
        float(inverse[0, 2]),
        float(inverse[1, 0]),
        float(inverse[1, 1]),
        float(inverse[1, 2]),
    )
    return img.transform(
        (ALIGNED_SIZE, ALIGNED_SIZE),
        Image.Transform.AFFINE,
        coeffs,
        resample=Image.Resampling.BILINEAR,
    )
