"""``hash``: content hash (perceptual for images, I-frames for video)."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, drop_none

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class HashClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "hash")

    async def compute(
        self,
        image: Path | str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        algorithm: Literal["sha512", "md5"] | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Hash a file; the hash itself is in ``output/hash.json``."""
        params = drop_none(algorithm=algorithm)
        return await self._submit(image, params, priority, wait, timeout, on_progress, on_complete)
