"""``face_embedding``: ArcFace-style embedding of a face crop."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, drop_none

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class FaceEmbeddingClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "face_embedding")

    async def embed_faces(
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
        """Embed a face image; output ``output/face_embedding.npy``."""
        params = drop_none(normalize=normalize)
        return await self._submit(image, params, priority, wait, timeout, on_progress, on_complete)
