"""Face image -> dlib's aligned 150x150 chip -> 128-d ResNet descriptor (the offline default).

The face is found with dlib's HOG detector (largest face wins) and aligned by dlib's 5-point
landmarks (``get_face_chip``), which is how dlib's ResNet was trained. When the detector finds no
face, which is common for tight crops such as the 112x112 ArcFace crops face_detection writes (HOG
needs some margin around the face), the whole image is taken as the face box and the landmarks are
fitted inside it: the input of face_embedding is by contract a face image.

``FaceFinder`` (detection + landmarks) is shared with the ArcFace embedder (``arcface.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

CHIP_SIZE = 150
CHIP_PADDING = 0.25
MAX_SIDE = 1024
"""Larger inputs are shrunk before searching for the face (a face image rarely needs more)."""
MIN_SCAN_SIDE = 400
"""Smaller inputs are upsampled twice by the detector (HOG's window is 80x80 pixels)."""

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


class Embedder(Protocol):
    """What ``FaceEmbeddingRunner`` needs of a face model."""

    embedding_dim: int
    model_name: str

    def chip(self, img: Image.Image) -> tuple[npt.NDArray[np.generic], bool]:
        """The model's input for one face image and whether a face was detected in it."""
        ...

    def embed(self, chips: npt.NDArray[np.generic]) -> FloatArray:
        """Stacked ``chip`` results -> ``[N, embedding_dim] float32``."""
        ...


@dataclass(frozen=True)
class FoundFace:
    pixels: UInt8Array
    """The image searched (shrunk by ``scale`` when large), ``[H, W, 3] uint8``."""
    shape: Any
    """dlib's 5-point ``full_object_detection`` in ``pixels`` coordinates."""
    scale: float
    """``pixels`` size / original size (<= 1)."""
    detected: bool
    """False when no face was detected and the whole image was taken as the face box."""

    def points(self) -> npt.NDArray[np.float64]:
        """dlib's 5 points ``[5, 2]`` in pixels of the original image."""
        parts = [[p.x, p.y] for p in self.shape.parts()]
        return np.array(parts, dtype=np.float64) / self.scale


class FaceFinder:
    """dlib HOG (largest face) + 5-point landmarks; the whole image when no face is detected."""

    def __init__(self, dlib: ModuleType, landmarks_path: Path) -> None:
        self._dlib = dlib
        self._detector: Any = dlib.get_frontal_face_detector()
        self._predictor: Any = dlib.shape_predictor(str(landmarks_path))

    def find(self, img: Image.Image) -> FoundFace:
        scale = min(1.0, MAX_SIDE / max(img.size))
        if scale < 1.0:
            img = img.resize(
                (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                Image.Resampling.BILINEAR,
            )
        pixels = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
        upsample = 2 if max(img.size) < MIN_SCAN_SIDE else 1
        rects = list(self._detector(pixels, upsample))
        detected = bool(rects)
        if detected:
            rect = max(rects, key=lambda r: r.width() * r.height())
        else:
            rect = self._dlib.rectangle(0, 0, img.width - 1, img.height - 1)
        return FoundFace(pixels, self._predictor(pixels, rect), scale, detected)


class FaceEmbedder:
    model_name = "dlib-resnet-v1"

    def __init__(self, dlib: ModuleType, landmarks_path: Path, resnet_path: Path) -> None:
        self._dlib = dlib
        self._finder = FaceFinder(dlib, landmarks_path)
        self._resnet: Any = dlib.face_recognition_model_v1(str(resnet_path))
        self.embedding_dim = 128

    def chip(self, img: Image.Image) -> tuple[UInt8Array, bool]:
        """The aligned chip and whether a face was detected (False: whole image used)."""
        face = self._finder.find(img)
        chip = self._dlib.get_face_chip(
            face.pixels, face.shape, size=CHIP_SIZE, padding=CHIP_PADDING
        )
        return np.asarray(chip, dtype=np.uint8), face.detected

    def embed(self, chips: npt.NDArray[np.generic]) -> FloatArray:
        """``[N, 150, 150, 3] uint8`` chips -> ``[N, 128] float32``."""
        batch = [np.ascontiguousarray(c, dtype=np.uint8) for c in chips]
        descriptors = self._resnet.compute_face_descriptor(batch)
        return np.array([np.asarray(d, dtype=np.float32) for d in descriptors], dtype=np.float32)
