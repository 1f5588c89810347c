"""face_detection: faces with box, confidence, 5 landmarks and aligned crops (PROTOCOL §4.2)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cl_server.plugins.base import FixedOutputSpec, PluginParams, PluginRunner

OUTPUT_PATH = "output/face_detection.json"


class FaceDetectionParams(PluginParams):
    confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    nms_threshold: float = Field(default=0.4, ge=0.0, le=1.0)


class FaceDetectionSpec(FixedOutputSpec):
    task_type = "face_detection"
    params_model = FaceDetectionParams
    requires_file = True
    output_file = OUTPUT_PATH

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.face_detection.runner import load_runner

        return load_runner(models_dir)
