"""``face_detection``: faces with boxes, landmarks and aligned crops."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, drop_none

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class FaceDetectionClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "face_detection")

    async def detect(
        self,
        image: Path | str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        confidence_threshold: float | None = None,
        nms_threshold: float | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Detect faces; crops are downloadable at ``task_output.faces[i].file_path``."""
        params = drop_none(confidence_threshold=confidence_threshold, nms_threshold=nms_threshold)
        return await self._submit(image, params, priority, wait, timeout, on_progress, on_complete)
