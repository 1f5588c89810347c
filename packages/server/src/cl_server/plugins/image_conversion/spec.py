"""image_conversion spec: form fields and output path (light imports only)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import ClassVar, Literal

from pydantic import Field

from cl_server.plugins.base import PluginParams, PluginRunner, PluginSpec

ImageFormat = Literal["png", "jpg", "jpeg", "webp", "gif", "bmp", "tiff"]


class ImageConversionParams(PluginParams):
    format: ImageFormat
    quality: int = Field(default=85, ge=1, le=100)


def output_extension(image_format: str) -> str:
    """File extension for a target format (``jpeg`` is written as ``.jpg``)."""
    return "jpg" if image_format == "jpeg" else image_format


def input_stem(input_filename: str | None) -> str:
    """Stem of the uploaded file name, ignoring any directory part a client sent."""
    name = PureWindowsPath(PurePosixPath(input_filename or "").name).name
    stem = PurePosixPath(name).stem
    return stem or "image"


class ImageConversionSpec(PluginSpec):
    task_type: ClassVar[str] = "image_conversion"
    params_model: ClassVar[type[PluginParams]] = ImageConversionParams

    def output_path(self, params: PluginParams, input_filename: str | None) -> str:
        assert isinstance(params, ImageConversionParams)
        ext = output_extension(params.format)
        return f"output/converted_{input_stem(input_filename)}.{ext}"

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.image_conversion.runner import ImageConversionRunner

        return ImageConversionRunner()
