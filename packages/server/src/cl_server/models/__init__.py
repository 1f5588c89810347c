"""Model registry, lookup and download (``cl-server models``).

Importing this package is cheap: no numpy, onnxruntime or dlib.
"""

from cl_server.models.locate import locate_model, model_search_dirs, model_status
from cl_server.models.registry import MODELS, ImageContract, ModelFile, ModelInfo, get_model

__all__ = [
    "MODELS",
    "ImageContract",
    "ModelFile",
    "ModelInfo",
    "get_model",
    "locate_model",
    "model_search_dirs",
    "model_status",
]
