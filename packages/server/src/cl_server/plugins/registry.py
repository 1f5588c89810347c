"""Explicit registry of plugin specs. Importing it loads only light modules (no models).

Each plugin package has a ``spec`` module holding its ``PluginSpec`` subclass: parameter model and
output path only, no heavy libraries. Add a new plugin here, one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from cl_server.plugins.base import PluginSpec


@cache
def plugin_specs() -> Mapping[str, PluginSpec]:
    from cl_server.plugins.clip_embedding.spec import ClipEmbeddingSpec
    from cl_server.plugins.clip_text_embedding.spec import ClipTextEmbeddingSpec
    from cl_server.plugins.dino_embedding.spec import DinoEmbeddingSpec
    from cl_server.plugins.exif.spec import ExifSpec
    from cl_server.plugins.face_detection.spec import FaceDetectionSpec
    from cl_server.plugins.face_embedding.spec import FaceEmbeddingSpec
    from cl_server.plugins.hash.spec import HashSpec
    from cl_server.plugins.hls_streaming.spec import HlsStreamingSpec
    from cl_server.plugins.image_conversion.spec import ImageConversionSpec
    from cl_server.plugins.media_thumbnail.spec import MediaThumbnailSpec

    specs: list[PluginSpec] = [
        HashSpec(),
        ExifSpec(),
        HlsStreamingSpec(),
        ImageConversionSpec(),
        MediaThumbnailSpec(),
        ClipEmbeddingSpec(),
        ClipTextEmbeddingSpec(),
        DinoEmbeddingSpec(),
        FaceDetectionSpec(),
        FaceEmbeddingSpec(),
    ]
    return {spec.task_type: spec for spec in specs}


def get_spec(task_type: str) -> PluginSpec | None:
    return plugin_specs().get(task_type)
