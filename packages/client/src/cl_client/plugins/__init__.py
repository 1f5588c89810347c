"""Per-plugin clients (PROTOCOL.md §7.4), one module each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from cl_client.plugins.base import BasePluginClient
from cl_client.plugins.clip_embedding import ClipEmbeddingClient
from cl_client.plugins.dino_embedding import DinoEmbeddingClient
from cl_client.plugins.exif import ExifClient
from cl_client.plugins.face_detection import FaceDetectionClient
from cl_client.plugins.face_embedding import FaceEmbeddingClient
from cl_client.plugins.hash import HashClient
from cl_client.plugins.hls_streaming import HlsStreamingClient
from cl_client.plugins.image_conversion import ImageConversionClient
from cl_client.plugins.media_thumbnail import MediaThumbnailClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from cl_client.compute_client import ComputeClient

PLUGIN_CLIENT_CLASSES: Final[dict[str, Callable[[ComputeClient], BasePluginClient]]] = {
    "clip_embedding": ClipEmbeddingClient,
    "dino_embedding": DinoEmbeddingClient,
    "exif": ExifClient,
    "face_detection": FaceDetectionClient,
    "face_embedding": FaceEmbeddingClient,
    "hash": HashClient,
    "hls_streaming": HlsStreamingClient,
    "image_conversion": ImageConversionClient,
    "media_thumbnail": MediaThumbnailClient,
}

__all__ = [
    "PLUGIN_CLIENT_CLASSES",
    "BasePluginClient",
    "ClipEmbeddingClient",
    "DinoEmbeddingClient",
    "ExifClient",
    "FaceDetectionClient",
    "FaceEmbeddingClient",
    "HashClient",
    "HlsStreamingClient",
    "ImageConversionClient",
    "MediaThumbnailClient",
]
