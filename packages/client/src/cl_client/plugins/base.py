"""Base of the per-plugin clients (PROTOCOL.md §7.4)."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

import errno
import mimetypes
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cl_client.config import ComputeClientConfig
from cl_client.models import JobResponse, OnJobResponseCallback

if TYPE_CHECKING:
    from cl_client.batch import BatchItem, BatchProgressCallback
    from cl_client.compute_client import ComputeClient

#: A plugin parameter value; sent as ``str(value)``, None as an empty string.
ParamValue = str | int | float | bool | None

_DEFAULT_PRIORITY = 5


def form_data(params: Mapping[str, object] | None, priority: int) -> dict[str, str]:
    """Form fields of a job submission: ``priority`` plus each param as a string (None → "")."""
    data = {"priority": str(priority)}
    for key, value in (params or {}).items():
        data[key] = "" if value is None else str(value)
    return data


def drop_none(**params: ParamValue) -> dict[str, ParamValue]:
    """Only the parameters that were given (the server applies its defaults to the rest)."""
    return {k: v for k, v in params.items() if v is not None}


class BasePluginClient:
    """Submits jobs of one task type through a :class:`ComputeClient`."""

    def __init__(self, client: ComputeClient, task_type: str) -> None:
        self.client: ComputeClient = client
        self.task_type: str = task_type
        self.endpoint: str = ComputeClientConfig.get_plugin_endpoint(task_type)

    async def submit_job(self, *args: object, **kwargs: object) -> JobResponse:
        """Every plugin needs an input file: use :meth:`submit_with_files`."""
        raise NotImplementedError(
            f"{self.task_type} jobs need an input file; use submit_with_files()"
        )

    async def submit_with_files(
        self,
        files: Mapping[str, Path | str],
        params: Mapping[str, object] | None = None,
        priority: int = _DEFAULT_PRIORITY,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
    ) -> JobResponse:
        """Upload ``files`` (multipart field → path) with form ``params`` and return the job.

        A missing file raises ``FileNotFoundError`` before anything is sent. With callbacks, the
        job is subscribed right after the POST (events that arrive earlier are replayed). With
        ``wait=True`` the call returns the terminal job (``TimeoutError`` after ``timeout``);
        otherwise the job as just created.
        """
        job_id = await self.post_with_files(files, params, priority)
        return await self._after_submit(
            job_id, self.task_type, wait, timeout, on_progress, on_complete
        )

    async def post_with_files(
        self,
        files: Mapping[str, Path | str],
        params: Mapping[str, object] | None = None,
        priority: int = _DEFAULT_PRIORITY,
    ) -> str:
        """Upload ``files`` with form ``params`` and return the new job's id, without reading
        the job back (``submit_batch`` waits for it to end, so a read now is a request spent).

        A missing file raises ``FileNotFoundError`` before anything is sent.
        """
        paths = {field: Path(p) for field, p in files.items()}
        for path in paths.values():
            if not path.is_file():
                raise FileNotFoundError(errno.ENOENT, "Upload file not found", os.fspath(path))
        with ExitStack() as stack:
            uploads: dict[str, tuple[str, IO[bytes], str]] = {}
            for field, path in paths.items():
                handle = stack.enter_context(path.open("rb"))
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                uploads[field] = (path.name, handle, content_type)
            return await self.client.http_submit_job(
                self.endpoint, form_data(params, priority), uploads
            )

    async def _submit(
        self,
        file: Path | str,
        params: Mapping[str, object] | None,
        priority: int,
        wait: bool,
        timeout: float | None,
        on_progress: OnJobResponseCallback,
        on_complete: OnJobResponseCallback,
    ) -> JobResponse:
        """Submit one input file as the multipart field ``file`` (what every plugin takes)."""
        return await self.submit_with_files(
            {"file": file}, params, priority, wait, timeout, on_progress, on_complete
        )

    async def submit_form(
        self,
        endpoint: str,
        task_type: str,
        params: Mapping[str, object],
        priority: int = _DEFAULT_PRIORITY,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
    ) -> JobResponse:
        """Submit a job that takes form fields only (no file), e.g. text embedding."""
        job_id = await self.client.http_submit_job(endpoint, form_data(params, priority), None)
        return await self._after_submit(job_id, task_type, wait, timeout, on_progress, on_complete)

    async def _after_submit(
        self,
        job_id: str,
        task_type: str,
        wait: bool,
        timeout: float | None,
        on_progress: OnJobResponseCallback,
        on_complete: OnJobResponseCallback,
    ) -> JobResponse:
        if on_progress is not None or on_complete is not None:
            self.client.mqtt_subscribe_job_updates(
                job_id, on_progress=on_progress, on_complete=on_complete, task_type=task_type
            )
        job = await self.client.get_job(job_id)
        if wait:
            job = await self.client.wait_for_job(job_id, timeout=timeout)
        return job

    async def submit_batch(
        self,
        files: Iterable[Path | str],
        params: Mapping[str, object] | None = None,
        *,
        concurrency: int = 4,
        priority: int = _DEFAULT_PRIORITY,
        timeout: float | None = None,
        on_progress: BatchProgressCallback | None = None,
        on_item_done: Callable[[BatchItem], Any] | None = None,
        on_item_submitted: Callable[[BatchItem], Any] | None = None,
    ) -> list[BatchItem]:
        """One job per file, at most ``concurrency`` in flight; see :mod:`cl_client.batch`."""
        from cl_client.batch import submit_batch

        return await submit_batch(
            self,
            files,
            params,
            concurrency=concurrency,
            priority=priority,
            timeout=timeout,
            on_progress=on_progress,
            on_item_done=on_item_done,
            on_item_submitted=on_item_submitted,
        )


class ImageEmbeddingClient(BasePluginClient):
    """A plugin that embeds an image into a vector (the CLIP and DINOv2 clients share this)."""

    async def embed_image(
        self,
        image: Path | str,
        wait: bool = False,
        timeout: float | None = None,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        *,
        normalize: bool | None = None,
        priority: int = _DEFAULT_PRIORITY,
    ) -> JobResponse:
        """Embed an image; output ``output/<task type>.npy`` (float32, 1-D)."""
        params = drop_none(normalize=normalize)
        return await self._submit(image, params, priority, wait, timeout, on_progress, on_complete)
