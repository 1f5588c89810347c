"""``image_conversion``: convert an image to another format."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, ParamValue

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient

IMAGE_FORMATS: Final[tuple[str, ...]] = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tiff")


class ImageConversionClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "image_conversion")

    async def convert(
        self,
        image: Path | str,
        output_format: str,
        quality: int | None = None,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        priority: int = 5,
    ) -> JobResponse:
        """Convert to ``output_format``; the result is at ``params.output_path``."""
        params: dict[str, ParamValue] = {"format": output_format}
        if quality is not None:
            params["quality"] = quality
        return await self._submit(image, params, priority, wait, timeout, on_progress, on_complete)
