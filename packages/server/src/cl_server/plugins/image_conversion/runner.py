"""image_conversion runner: writes params.output_path; task_output is ``{}``."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TypeGuard

from cl_server.plugins.base import JobContext, SingleJobRunner, TaskOutput
from cl_server.plugins.image_conversion.core import convert_image
from cl_server.plugins.image_conversion.spec import ImageConversionParams, ImageConversionSpec


class ImageConversionRunner(SingleJobRunner):
    def run(self, ctx: JobContext) -> TaskOutput:
        params = ImageConversionParams.model_validate(dict(ctx.params))
        source = ctx.require_input()
        output = ctx.params.get("output_path")
        if not _is_safe_output(output):
            output = ImageConversionSpec().output_path(params, source.name)
        convert_image(source, ctx.output_file(output), params.format, params.quality)
        return {}


def _is_safe_output(value: object) -> TypeGuard[str]:
    """The service computed ``output_path`` from the upload's name; stay inside ``output/``."""
    if not isinstance(value, str):
        return False
    parts = PurePosixPath(value).parts
    return len(parts) == 2 and parts[0] == "output" and parts[1] not in ("", ".", "..")
