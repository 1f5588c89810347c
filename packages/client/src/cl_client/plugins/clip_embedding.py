"""``clip_embedding``: CLIP image embedding, plus text embedding (``clip_text_embedding``)."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

from typing import TYPE_CHECKING

from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.plugins.base import ImageEmbeddingClient, drop_none

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient

#: Text-only task type served by ``POST /jobs/clip_text_embedding`` (form field ``text``).
CLIP_TEXT_TASK_TYPE = "clip_text_embedding"
CLIP_TEXT_ENDPOINT = f"/jobs/{CLIP_TEXT_TASK_TYPE}"


class ClipEmbeddingClient(ImageEmbeddingClient):
    """:meth:`embed_image` writes ``output/clip_embedding.npy``; :meth:`embed_text` embeds text."""

    def __init__(self, client: ComputeClient) -> None:
        super().__init__(client, "clip_embedding")

    async def embed_text(
        self,
        text: str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        normalize: bool | None = None,
        priority: int = 5,
    ) -> JobResponse:
        """Embed a text with the CLIP text encoder (same space as :meth:`embed_image`)."""
        if not text.strip():
            raise ValueError("text must not be empty")
        return await self.submit_form(
            CLIP_TEXT_ENDPOINT,
            CLIP_TEXT_TASK_TYPE,
            {"text": text, **drop_none(normalize=normalize)},
            priority,
            wait,
            timeout,
            on_progress,
            on_complete,
        )
