"""``media_thumbnail``: JPEG thumbnail of an image, or a key-frame mosaic of a video."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, drop_none

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class MediaThumbnailClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "media_thumbnail")

    async def generate(
        self,
        media: Path | str,
        width: int | None = None,
        height: int | None = None,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        maintain_aspect_ratio: bool | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Thumbnail inside ``width`` x ``height`` (default 256 x 256); ``output/thumbnail.jpg``."""
        params = drop_none(width=width, height=height, maintain_aspect_ratio=maintain_aspect_ratio)
        return await self._submit(media, params, priority, wait, timeout, on_progress, on_complete)
