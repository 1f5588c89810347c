"""``hls_streaming``: adaptive HLS renditions of a video."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import BasePluginClient, ParamValue

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient


class HlsStreamingClient(BasePluginClient):
    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "hls_streaming")

    async def generate_manifest(
        self,
        video: Path | str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        variants: Sequence[tuple[int, int]] | None = None,
        include_original: bool | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Transcode to HLS; ``variants`` are ``(height, kbps)`` pairs (server default 720p/480p).

        The master playlist is ``output/adaptive.m3u8``.
        """
        params: dict[str, ParamValue] = {}
        if variants is not None:
            params["variants"] = json.dumps(
                [{"resolution": height, "bitrate": kbps} for height, kbps in variants]
            )
        if include_original is not None:
            params["include_original"] = include_original
        return await self._submit(video, params, priority, wait, timeout, on_progress, on_complete)
