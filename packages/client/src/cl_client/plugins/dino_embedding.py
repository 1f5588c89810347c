"""``dino_embedding``: DINOv2 image embedding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cl_client.plugins.base import ImageEmbeddingClient

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class DinoEmbeddingClient(ImageEmbeddingClient):
    """:meth:`embed_image` writes ``output/dino_embedding.npy``."""

    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "dino_embedding")
