"""Face image -> ArcFace-aligned 112x112 crop -> ArcFace-class ONNX model (auraface-v1, 512-d).

Alignment: the standard ArcFace one, a similarity transform of 5 landmarks onto insightface's
112x112 template (the same code face_detection uses for the crops it writes).

- A 112x112 input is taken as already aligned: that is exactly what face_detection writes
  (``faces/face_<i>.png``), and re-estimating landmarks on such a tight crop would only add noise.
- Any other input: dlib's HOG finds the face (largest wins; the whole image when none is found,
  as for the dlib model), dlib's 5-point model gives the landmarks, converted to the ArcFace five
  (``face_detection.geometry.five_from_dlib``), and the crop is aligned from the original image.

Model input: RGB, ``(x / 255 - 0.5) / 0.5`` (the registry's ``ImageContract``), NCHW
``[N, 3, 112, 112] float32``; output ``[N, 512]``, L2-normalised by the runner.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from cl_server.errors import PluginUnavailableError
from cl_server.models.registry import ImageContract, ModelInfo
from cl_server.plugins._ml.images import encoder_input
from cl_server.plugins._ml.onnx_encoder import OnnxEncoder
from cl_server.plugins.face_detection.detector import aligned_crop
from cl_server.plugins.face_detection.geometry import ALIGNED_SIZE, five_from_dlib
from cl_server.plugins.face_embedding.embedder import FaceFinder, FloatArray


def check_contract(encoder: OnnxEncoder, model: ModelInfo, task_type: str) -> int:
    """The embedding dimension, or ``PluginUnavailableError`` when the ONNX file's input is not
    ``[N, 3, 112, 112]``."""
    shape = encoder.input_shape
    channels = shape[1] if len(shape) == 4 else None
    size = encoder.spatial_size()
    if len(shape) != 4 or (isinstance(channels, int) and channels != 3) or size not in (None, 112):
        raise PluginUnavailableError(
            f"{task_type}: model {model.name!r} has input shape {shape}; expected "
            f"[N, 3, {ALIGNED_SIZE}, {ALIGNED_SIZE}] (an ArcFace-aligned RGB face crop)"
        )
    last = encoder.output_shape[-1] if encoder.output_shape else None
    if isinstance(last, int):
        return last
    return model.embedding_dim or 512


class ArcFaceEmbedder:
    def __init__(
        self, finder: FaceFinder, encoder: OnnxEncoder, model: ModelInfo, *, task_type: str
    ) -> None:
        if model.image is None:
            raise ValueError(f"model {model.name} has no image contract")
        self.embedding_dim = check_contract(encoder, model, task_type)
        self.model_name = model.name
        self.contract: ImageContract = model.image
        self.encoder = encoder
        self._finder = finder

    def aligned(self, img: Image.Image) -> tuple[Image.Image, bool]:
        """The 112x112 ArcFace crop and whether a face was detected (False: already aligned, or
        no face found and the landmarks fitted into the whole image)."""
        if img.size == (ALIGNED_SIZE, ALIGNED_SIZE):
            return img, False
        face = self._finder.find(img)
        return aligned_crop(img, five_from_dlib(face.points())), face.detected

    def chip(self, img: Image.Image) -> tuple[FloatArray, bool]:
        """``[3, 112, 112] float32`` model input and whether a face was detected."""
        crop, detected = self.aligned(img)
        return encoder_input(crop, self.contract), detected

    def embed(self, chips: npt.NDArray[np.generic]) -> FloatArray:
        """``[N, 3, 112, 112]`` -> ``[N, embedding_dim] float32``."""
        return self.encoder.encode(chips)
