"""Thin job adapter for ``hash``: read params, run the core, write ``output/hash.json``."""

from __future__ import annotations

import json

from cl_server.media.images import register_image_plugins
from cl_server.plugins.base import JobContext, SingleJobRunner, TaskOutput
from cl_server.plugins.hash.core import compute_hash
from cl_server.plugins.hash.spec import HashParams, HashSpec


class HashRunner(SingleJobRunner):
    def __init__(self) -> None:
        # Whether HEIC gets the pixel hash must not depend on which plugin ran first in this
        # worker: register the HEIF decoder (shared, idempotent) before the first job.
        register_image_plugins()

    def run(self, ctx: JobContext) -> TaskOutput:
        params = HashParams.model_validate({"algorithm": ctx.params.get("algorithm", "sha512")})
        last = 0

        def progress(fraction: float) -> None:
            nonlocal last
            percent = min(max(int(fraction * 100), 1), 99)
            if percent >= last + 10:  # a report per 10 %: each one is an MQTT event
                last = percent
                ctx.report_progress(percent)

        result = compute_hash(
            ctx.require_input(),
            params.algorithm,
            check=ctx.check_cancelled,
            progress=progress,
        )
        ctx.output_file(HashSpec.output_file).write_text(
            json.dumps(result.to_json()), encoding="utf-8"
        )
        return {"media_type": result.media_type}
