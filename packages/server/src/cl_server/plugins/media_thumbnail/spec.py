"""media_thumbnail spec: form fields and output path (light imports only)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from cl_server.plugins.base import FixedOutputSpec, PluginParams, PluginRunner


class MediaThumbnailParams(PluginParams):
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    maintain_aspect_ratio: bool = True


class MediaThumbnailSpec(FixedOutputSpec):
    task_type: ClassVar[str] = "media_thumbnail"
    params_model: ClassVar[type[PluginParams]] = MediaThumbnailParams
    output_file: ClassVar[str] = "output/thumbnail.jpg"

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.media_thumbnail.runner import MediaThumbnailRunner

        return MediaThumbnailRunner()
