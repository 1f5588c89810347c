"""``dino_embedding``: DINOv2 image embedding."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, drop_none

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class DinoEmbeddingClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "dino_embedding")

    async def embed_image(
        self,
        image: Path | str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        normalize: bool | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Embed an image; output ``output/dino_embedding.npy`` (float32, 1-D)."""
        return await self.submit_with_files(
            {"file": image},
            drop_none(normalize=normalize),
            priority,
            wait,
            timeout,
            on_progress,
            on_complete,
        )
