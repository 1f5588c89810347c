"""``exif``: metadata extraction."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class ExifClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "exif")

    async def extract(
        self,
        image: Path | str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        tags: Sequence[str] | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Extract metadata; ``tags`` limits ``raw_metadata`` to those tag names (None = all)."""
        params = {"tags": ",".join(tags)} if tags else {}
        return await self._submit(image, params, priority, wait, timeout, on_progress, on_complete)
