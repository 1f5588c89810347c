"""Thin job adapter for ``exif``: read params, run the core, write ``output/exif_metadata.json``."""

from __future__ import annotations

import json
import logging

from cl_server.media.images import register_image_plugins
from cl_server.plugins.base import JobContext, SingleJobRunner, TaskOutput
from cl_server.plugins.exif.core import extract_metadata
from cl_server.plugins.exif.spec import parse_tags

OUTPUT_PATH = "output/exif_metadata.json"


class ExifRunner(SingleJobRunner):
    def __init__(self) -> None:
        # exifread logs a WARNING for every image without EXIF ("No EXIF header found"),
        # which is an ordinary case here and would flood the worker log.
        logging.getLogger("exifread").setLevel(logging.ERROR)
        register_image_plugins()  # HEIC/HEIF: decoded (and checked) like any other image

    def run(self, ctx: JobContext) -> TaskOutput:
        raw_tags: object = ctx.params.get("tags")
        # Stored params hold a list (PROTOCOL §4.1); a plain form string is accepted too.
        if isinstance(raw_tags, list):
            tags = parse_tags(str(t) for t in raw_tags)
        else:
            tags = parse_tags(raw_tags if isinstance(raw_tags, str) else None)
        metadata = extract_metadata(ctx.require_input(), tags)
        ctx.output_file(OUTPUT_PATH).write_text(
            json.dumps(metadata, ensure_ascii=False), encoding="utf-8"
        )
        return dict(metadata)
