"""Loading dlib and its face models (from face_recognition_models or a model directory)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from cl_server.errors import PluginUnavailableError
from cl_server.models.locate import locate_model
from cl_server.models.registry import DLIB_FACE_LANDMARKS_5, DLIB_RESNET_V1

LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def import_dlib(task_type: str) -> ModuleType:
    try:
        import dlib
    except ImportError as exc:
        raise PluginUnavailableError(
            f"{task_type}: dlib is not installed on this machine (package `dlib-bin`, "
            f"wheels for Linux, Windows and macOS arm64): {exc}"
        ) from exc
    return dlib


def landmarks_path(task_type: str, models_dir: Path | None) -> Path:
    paths = locate_model(
        DLIB_FACE_LANDMARKS_5, (LANDMARKS_FILE,), task_type=task_type, models_dir=models_dir
    )
    return paths[LANDMARKS_FILE]


def resnet_path(task_type: str, models_dir: Path | None) -> Path:
    paths = locate_model(DLIB_RESNET_V1, (RESNET_FILE,), task_type=task_type, models_dir=models_dir)
    return paths[RESNET_FILE]
