"""Parameters and output path of the ``exif`` plugin (light: imported by the compute service)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import field_validator

from cl_server.plugins.base import FixedOutputSpec, PluginParams, PluginRunner

MAX_TAGS = 256
MAX_TAG_LENGTH = 128


def parse_tags(value: str | Iterable[str] | None) -> list[str]:
    """Tag names from the comma-separated form value (or an already stored list), in order.

    Whitespace around names is trimmed, empty names and repeats are dropped.
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    names: list[str] = []
    for item in items:
        name = item.strip()
        if name and name not in names:
            names.append(name)
    return names


class ExifParams(PluginParams):
    tags: str = ""
    """Comma-separated tag names restricting ``raw_metadata``; empty means all tags."""

    @field_validator("tags")
    @classmethod
    def _bounded(cls, value: str) -> str:
        names = parse_tags(value)
        if len(names) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tag names are allowed")
        if any(len(name) > MAX_TAG_LENGTH for name in names):
            raise ValueError(f"a tag name may be at most {MAX_TAG_LENGTH} characters long")
        return value


class ExifSpec(FixedOutputSpec):
    task_type = "exif"
    params_model = ExifParams
    requires_file = True
    output_file = "output/exif_metadata.json"

    def stored_params(self, params: PluginParams) -> dict[str, Any]:
        # PROTOCOL §4.1: the job's params hold ``tags`` as a list of strings.
        assert isinstance(params, ExifParams)
        return {"tags": parse_tags(params.tags)}

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.exif.runner import ExifRunner

        return ExifRunner()
