"""Parameters and output path of the ``hash`` plugin (light: imported by the compute service)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator

from cl_server.plugins.base import FixedOutputSpec, PluginParams, PluginRunner

HashAlgorithm = Literal["sha512", "md5"]


class HashParams(PluginParams):
    algorithm: HashAlgorithm = "sha512"

    @field_validator("algorithm", mode="before")
    @classmethod
    def _normalise(cls, value: object) -> object:
        # Form values: accept any case; an empty field (the SDK sends None as "") means default.
        if isinstance(value, str):
            value = value.strip().lower()
            return value or "sha512"
        return value


class HashSpec(FixedOutputSpec):
    task_type = "hash"
    params_model = HashParams
    requires_file = True
    output_file = "output/hash.json"

    def load(self, models_dir: Path | None = None) -> PluginRunner:
        from cl_server.plugins.hash.runner import HashRunner

        return HashRunner()
