"""hls_streaming spec: form fields and output path (light imports only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cl_server.plugins.base import FixedOutputSpec, PluginParams, PluginRunner

MAX_RESOLUTION = 4320
MAX_BITRATE_KBPS = 200_000


class HlsVariant(BaseModel):
    """One rendition: height in pixels (width follows the aspect ratio) and video kbit/s."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    resolution: int = Field(gt=0, le=MAX_RESOLUTION, multiple_of=2)
    """Output height; even because H.264 4:2:0 needs even dimensions."""
    bitrate: int = Field(ge=100, le=MAX_BITRATE_KBPS)
    """Video bit rate in kbit/s (also the max rate and buffer size)."""


DEFAULT_VARIANTS = (
    HlsVariant(resolution=720, bitrate=3500),
    HlsVariant(resolution=480, bitrate=1500),
)


class HlsStreamingParams(PluginParams):
    variants: list[HlsVariant] = Field(default_factory=lambda: list(DEFAULT_VARIANTS), min_length=1)
    include_original: bool = False

    @field_validator("variants", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        # The form field is a string holding a JSON array; stored params hold the parsed list.
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"variants must be a JSON array: {exc.msg}") from exc
        return value

    @field_validator("variants")
    @classmethod
    def _unique(cls, value: list[HlsVariant]) -> list[HlsVariant]:
        seen: set[tuple[int, int]] = set()
        for variant in value:
            key = (variant.resolution, variant.bitrate)
            if key in seen:
                raise ValueError(
                    f"duplicate variant {variant.resolution}p at {variant.bitrate} kbps"
                )
            seen.add(key)
        return value


class HlsStreamingSpec(FixedOutputSpec):
    task_type: ClassVar[str] = "hls_streaming"
    params_model: ClassVar[type[PluginParams]] = HlsStreamingParams
    output_file: ClassVar[str] = "output"

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.media.ffmpeg import ffmpeg_exe
        from cl_server.plugins.hls_streaming.runner import HlsStreamingRunner

        ffmpeg_exe()  # raises PluginUnavailableError now, not on the first job
        return HlsStreamingRunner()
