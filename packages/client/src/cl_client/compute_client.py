"""The compute service client (PROTOCOL.md §7.3)."""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncGenerator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from cl_client.auth import AuthProvider, NoAuthProvider, ProviderAuth
from cl_client.backoff import PollBackoff
from cl_client.config import ComputeClientConfig
from cl_client.exceptions import (
    JobTimeoutError,
    ServerUnreachableError,
    WorkerUnavailableError,
    raise_for_status,
    response_detail,
)
from cl_client.fallback import PollingFallback
from cl_client.job_query import Instant, job_list_params
from cl_client.lifecycle import AsyncCloseable
from cl_client.models import (
    TERMINAL_STATUSES,
    JobCreatedResponse,
    JobListResponse,
    JobResponse,
    OnJobResponseCallback,
    WorkerCapabilitiesResponse,
    WorkerCapability,
    WorkerInfo,
    WorkersResponse,
)
from cl_client.mqtt_monitor import MQTTJobMonitor
from cl_client.outputs import job_output_files, safe_destination
from cl_client.server_config import ServerConfig
from cl_client.service_models import CleanupResult, GuestModeConfig, ServiceInfo, StorageSize

if TYPE_CHECKING:
    from cl_client.plugins import (
        ClipEmbeddingClient,
        DinoEmbeddingClient,
        ExifClient,
        FaceDetectionClient,
        FaceEmbeddingClient,
        HashClient,
        HlsStreamingClient,
        ImageConversionClient,
        MediaThumbnailClient,
    )
    from cl_client.plugins.base import BasePluginClient

logger = logging.getLogger(__name__)

#: Multipart ``files`` argument as httpx takes it: field -> (filename, file object, content type).
UploadFiles = Mapping[str, tuple[str, Any, str]]

_DOWNLOAD_CHUNK = 1 << 16


class ComputeClient(AsyncCloseable):
    """Async client for the compute service: jobs, files, capabilities, admin, MQTT updates."""

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float | None = None,
        mqtt_broker: str | None = None,
        mqtt_port: int | None = None,
        auth_provider: AuthProvider | None = None,
        server_config: ServerConfig | None = None,
        *,
        mqtt_monitor: MQTTJobMonitor | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Build the client; unset values come from ``server_config`` or the environment.

        Keyword-only extras: ``mqtt_monitor`` to share or replace the monitor (e.g. an offline
        ``MQTTJobMonitor(connect=False)`` for polling only; a passed monitor is not closed by
        :meth:`close`), ``transport`` to plug an httpx transport (tests).
        """
        config = server_config if server_config is not None else ServerConfig.from_env()
        self.base_url: str = (base_url or config.compute_url).rstrip("/")
        self.timeout: float = ComputeClientConfig.DEFAULT_TIMEOUT if timeout is None else timeout
        self.auth: AuthProvider = auth_provider if auth_provider is not None else NoAuthProvider()
        self._session: httpx.AsyncClient = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            auth=ProviderAuth(lambda: self.auth),
            transport=transport,
        )
        self._owns_mqtt: bool = mqtt_monitor is None
        self._mqtt: MQTTJobMonitor = (
            mqtt_monitor
            if mqtt_monitor is not None
            else MQTTJobMonitor(
                mqtt_broker if mqtt_broker is not None else config.mqtt_broker,
                mqtt_port if mqtt_port is not None else config.mqtt_port,
            )
        )
        self._fallback: PollingFallback = PollingFallback(self._mqtt, self.get_job)
        self._plugins: dict[str, BasePluginClient] = {}
        self._closed: bool = False

    # ------------------------------------------------------------------ HTTP plumbing

    async def _request(
        self, method: str, url: str, *, job_id: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request; typed errors for non-2xx and for an unreachable service."""
        try:
            response = await self._session.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            raise ServerUnreachableError.from_connect_error(self.base_url, exc) from exc
        raise_for_status(response, job_id=job_id)
        return response

    # ------------------------------------------------------------------ jobs

    async def get_job(self, job_id: str) -> JobResponse:
        """``GET /jobs/{job_id}``."""
        response = await self._request("GET", _job_url(job_id), job_id=job_id)
        return JobResponse.model_validate(response.json())

    async def delete_job(self, job_id: str) -> None:
        """``DELETE /jobs/{job_id}``: removes the job and its files."""
        await self._request("DELETE", _job_url(job_id), job_id=job_id)

    async def cancel_job(self, job_id: str) -> JobResponse:
        """``POST /jobs/{job_id}/cancel``: the job as cancelled (a terminal status).

        A job that already ended raises :class:`~cl_client.exceptions.InvalidRequestError`
        (409, the server's reason in ``.detail``); an unknown one ``JobNotFoundHTTPError``.
        """
        response = await self._request(
            "POST", _job_url(job_id, ComputeClientConfig.ENDPOINT_CANCEL_JOB), job_id=job_id
        )
        return JobResponse.model_validate(response.json())

    async def retry_job(self, job_id: str) -> JobResponse:
        """``POST /jobs/{job_id}/retry``: queue a failed or cancelled job again.

        Any other status raises :class:`~cl_client.exceptions.InvalidRequestError` (409).
        """
        response = await self._request(
            "POST", _job_url(job_id, ComputeClientConfig.ENDPOINT_RETRY_JOB), job_id=job_id
        )
        return JobResponse.model_validate(response.json())

    async def list_jobs_page(
        self,
        *,
        status: str | Iterable[str] | None = None,
        task_type: str | None = None,
        created_by: str | None = None,
        created_after: Instant | None = None,
        created_before: Instant | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> JobListResponse:
        """One page of ``GET /jobs``, newest first; pass ``next_cursor`` back as ``cursor``.

        ``status`` is one status or several (any of them); times are epoch milliseconds or
        datetimes (naive ones are local time); ``limit`` is 1..500.
        """
        params = job_list_params(
            status=status,
            task_type=task_type,
            created_by=created_by,
            created_after=created_after,
            created_before=created_before,
            limit=limit,
            cursor=cursor,
        )
        response = await self._request("GET", ComputeClientConfig.ENDPOINT_LIST_JOBS, params=params)
        return JobListResponse.model_validate(response.json())

    async def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        task_type: str | None = None,
        created_by: str | None = None,
        created_after: Instant | None = None,
        created_before: Instant | None = None,
        page_size: int = 100,
    ) -> AsyncGenerator[JobResponse]:
        """Every job matching the filters, newest first, fetching pages as the loop goes::

            async for job in client.list_jobs(status=["failed", "cancelled"]):
                print(job.job_id, job.error_message)

        Filters as in :meth:`list_jobs_page`; ``page_size`` (1..500) is the jobs per request.
        """
        cursor: str | None = None
        while True:
            page = await self.list_jobs_page(
                status=status,
                task_type=task_type,
                created_by=created_by,
                created_after=created_after,
                created_before=created_before,
                limit=page_size,
                cursor=cursor,
            )
            for job in page.jobs:
                yield job
            # An empty page with a cursor would loop forever on a misbehaving server.
            if page.next_cursor is None or not page.jobs:
                return
            cursor = page.next_cursor

    async def http_submit_job(
        self,
        endpoint: str,
        data: Mapping[str, str],
        files: UploadFiles | None,
    ) -> str:
        """POST a job (multipart when ``files`` is given) and return its ``job_id``."""
        response = await self._request("POST", endpoint, data=dict(data), files=files or None)
        return JobCreatedResponse.model_validate(response.json()).job_id

    async def wait_for_job(
        self,
        job_id: str,
        poll_interval: float | None = None,
        timeout: float | None = None,
        *,
        fetched: bool = False,
    ) -> JobResponse:
        """Poll until the job is terminal; returns the final job.

        Delays start at ``poll_interval`` (default 1 s) and grow by 1.5x up to 10 s; a terminal MQTT
        event for the job wakes the wait at once, so a finished job is noticed without waiting
        out the current delay. Raises :class:`~cl_client.exceptions.JobTimeoutError` (a
        ``TimeoutError``) when ``timeout`` seconds pass first.

        ``fetched=True`` says the caller knows the job was not terminal a moment ago (it has
        just read it, or just created it, as ``submit_batch`` does): then, with MQTT connected,
        the first read waits for the job's terminal event (or the first delay) instead of
        asking at once, which saves a batch of short jobs a request per job. An event that came
        before the listener is replayed from the monitor's buffer, so it still wakes the wait.
        """
        loop = asyncio.get_running_loop()
        backoff = PollBackoff(
            poll_interval
            if poll_interval is not None
            else ComputeClientConfig.DEFAULT_POLL_INTERVAL
        )
        wake = asyncio.Event()

        def on_event(job: JobResponse) -> None:
            if job.status in TERMINAL_STATUSES:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(wake.set)

        token = self._mqtt.add_job_listener(job_id, on_event)
        start = loop.time()
        read_now = not (fetched and self._mqtt.connected)
        try:
            while True:
                if read_now:
                    wake.clear()
                    job = await self.get_job(job_id)
                    if job.status in TERMINAL_STATUSES:
                        return job
                    if timeout is not None and loop.time() - start > timeout:
                        raise JobTimeoutError(job_id, timeout, job.status, job.waiting_reason)
                read_now = True
                delay = backoff.next_delay()
                if timeout is not None:
                    # Wake just after the deadline so the timeout fires on time.
                    delay = min(delay, max(timeout - (loop.time() - start), 0.0) + 0.05)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
        finally:
            self._mqtt.remove_job_listener(job_id, token)

    # ------------------------------------------------------------------ files

    async def download_job_file(self, job_id: str, file_path: str, dest: Path) -> None:
        """Download one job file (job-relative ``file_path``) to ``dest``.

        The body is streamed into a temporary file next to ``dest`` and renamed at the end, so
        a failed download never leaves a truncated ``dest``. Parent folders are created.
        """
        dest = Path(dest)
        url = _file_url(job_id, file_path)
        try:
            async with self._session.stream("GET", url) as response:
                if not response.is_success:
                    await response.aread()
                    detail = response_detail(response)
                    # 404 means "no such job" unless the server says the *file* is missing.
                    missing_job = not detail.startswith("File not found")
                    raise_for_status(response, job_id=job_id if missing_job else None)
                fd, tmp = _temp_beside(dest)
                try:
                    with os.fdopen(fd, "wb") as out:
                        async for chunk in response.aiter_bytes(_DOWNLOAD_CHUNK):
                            out.write(chunk)
                    _replace(tmp, dest)
                except BaseException:
                    _discard(tmp)
                    raise
        except httpx.ConnectError as exc:
            raise ServerUnreachableError.from_connect_error(self.base_url, exc) from exc

    async def get_job_file_bytes(self, job_id: str, file_path: str) -> bytes:
        """A job file's content in memory (small files: JSON outputs, playlists)."""
        response = await self._request("GET", _file_url(job_id, file_path))
        return response.content

    async def download_job_files(
        self,
        job_id: str,
        files: Iterable[str],
        dest_dir: Path,
        *,
        concurrency: int = 8,
    ) -> list[Path]:
        """Download several job files in parallel to ``dest_dir/<file path>``.

        At most ``concurrency`` downloads run at once; returns the written paths in the order
        given. A path that would land outside ``dest_dir`` raises ``ValueError`` before anything
        is fetched.
        """
        dest_dir = Path(dest_dir)
        targets = [(f, safe_destination(dest_dir, f)) for f in files]
        return await self._download_all(job_id, targets, concurrency)

    async def _download_all(
        self, job_id: str, targets: list[tuple[str, Path]], concurrency: int
    ) -> list[Path]:
        """Download ``(file path, destination)`` pairs, at most ``concurrency`` at once."""
        limit = asyncio.Semaphore(max(1, concurrency))

        async def one(file_path: str, target: Path) -> Path:
            async with limit:
                await self.download_job_file(job_id, file_path, target)
            return target

        return list(await asyncio.gather(*(one(f, t) for f, t in targets)))

    async def list_job_output_files(self, job: JobResponse) -> list[str]:
        """Job-relative paths of the files a completed job produced (see ``cl_client.outputs``)."""
        return await job_output_files(job, self.get_job_file_bytes)

    async def download_job_outputs(
        self,
        job: JobResponse,
        dest_dir: Path,
        *,
        concurrency: int = 8,
        strip_output_prefix: bool = True,
    ) -> list[Path]:
        """Download every output file of a completed job into ``dest_dir``.

        With ``strip_output_prefix`` the leading ``output/`` is dropped (``hash.json``,
        ``faces/face_0.png``, ``adaptive.m3u8`` with its segments beside it).
        """
        files = await self.list_job_output_files(job)
        dest_dir = Path(dest_dir)
        targets = [
            (f, safe_destination(dest_dir, f.removeprefix("output/") if strip_output_prefix else f))
            for f in files
        ]
        return await self._download_all(job.job_id, targets, concurrency)

    # ------------------------------------------------------------------ workers

    async def get_capabilities(self) -> WorkerCapabilitiesResponse:
        """``GET /capabilities``: workers known to the server and idle counts per task type."""
        response = await self._request("GET", ComputeClientConfig.ENDPOINT_CAPABILITIES)
        return WorkerCapabilitiesResponse.model_validate(response.json())

    async def list_workers(self) -> list[WorkerInfo]:
        """``GET /workers``: connected workers (idle or busy), then those gone in the last hour."""
        response = await self._request("GET", ComputeClientConfig.ENDPOINT_WORKERS)
        return WorkersResponse.model_validate(response.json()).workers

    def get_worker_capabilities(self) -> dict[str, WorkerCapability]:
        """Workers seen over MQTT (empty when the broker is unreachable)."""
        return self._mqtt.get_worker_capabilities()

    async def wait_for_workers(
        self,
        required_capabilities: list[str] | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Wait until, for each task type in turn, some worker offers it with an idle slot.

        Uses the MQTT capability messages; while the broker is unreachable it asks
        ``GET /capabilities`` instead. Checks on every capability message and at least once a
        second; raises :class:`WorkerUnavailableError` when ``timeout`` (default 30 s, for the
        whole call) passes.
        """
        if not required_capabilities:
            return True
        loop = asyncio.get_running_loop()
        limit = ComputeClientConfig.WORKER_WAIT_TIMEOUT if timeout is None else timeout
        deadline = loop.time() + limit
        changed = asyncio.Event()
        token = self._mqtt.subscribe_worker_updates(lambda _w, _c: changed.set())
        try:
            for task_type in required_capabilities:
                while True:
                    changed.clear()
                    idle = await self._idle_capabilities()
                    if idle.get(task_type, 0) > 0:
                        break
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise WorkerUnavailableError(task_type, idle)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            changed.wait(),
                            min(remaining, ComputeClientConfig.WORKER_CAPABILITY_CHECK_INTERVAL),
                        )
        finally:
            self._mqtt.unsubscribe_worker_updates(token)
        return True

    async def _idle_capabilities(self) -> dict[str, int]:
        if self._mqtt.connected:
            return self._mqtt.idle_capabilities()
        return dict((await self.get_capabilities()).capabilities)

    # ------------------------------------------------------------------ MQTT subscriptions

    @property
    def mqtt_monitor(self) -> MQTTJobMonitor:
        """The MQTT monitor behind the callbacks (``connected``, connection listeners)."""
        return self._mqtt

    def mqtt_subscribe_job_updates(
        self,
        job_id: str,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        task_type: str = "unknown",
        *,
        poll_fallback: bool = True,
    ) -> str:
        """Register callbacks for a job; returns the subscription id.

        ``on_progress`` gets every state change (terminal included), ``on_complete`` exactly one
        terminal state (``completed``, ``failed`` or ``error``). Callbacks run on the event loop
        that is running here. While the broker is unreachable, HTTP polling drives them
        (``poll_fallback=False`` turns that off for callers that poll themselves).
        """
        subscription_id = self._mqtt.subscribe_job_updates(
            job_id, on_progress=on_progress, on_complete=on_complete, task_type=task_type
        )
        if poll_fallback:
            self._fallback.watch(subscription_id)
        return subscription_id

    def subscribe_job_updates(
        self,
        job_id: str,
        on_progress: OnJobResponseCallback = None,
        on_complete: OnJobResponseCallback = None,
        task_type: str = "unknown",
    ) -> str:
        """Alias of :meth:`mqtt_subscribe_job_updates`."""
        return self.mqtt_subscribe_job_updates(job_id, on_progress, on_complete, task_type)

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription (unknown ids are ignored)."""
        self._fallback.stop(subscription_id)
        self._mqtt.unsubscribe(subscription_id)

    # ------------------------------------------------------------------ service and admin

    async def get_service_info(self) -> ServiceInfo:
        """``GET /``: status, version, guest mode, whether auth is enforced."""
        response = await self._request("GET", "/")
        return ServiceInfo.model_validate(response.json())

    async def update_guest_mode(self, guest_mode: bool) -> bool:
        """``PUT /admin/config/guest-mode`` (admin); True on success."""
        response = await self._request(
            "PUT",
            "/admin/config/guest-mode",
            data={"guest_mode": "true" if guest_mode else "false"},
        )
        return response.is_success

    async def get_admin_config(self) -> GuestModeConfig:
        """``GET /admin/config`` (admin)."""
        response = await self._request("GET", "/admin/config")
        return GuestModeConfig.model_validate(response.json())

    async def get_storage_size(self) -> StorageSize:
        """``GET /admin/jobs/storage/size`` (admin)."""
        response = await self._request("GET", "/admin/jobs/storage/size")
        return StorageSize.model_validate(response.json())

    async def cleanup_jobs(self, days: int = 7) -> CleanupResult:
        """``DELETE /admin/jobs/cleanup?days=N`` (admin): delete jobs older than N days."""
        response = await self._request("DELETE", "/admin/jobs/cleanup", params={"days": days})
        return CleanupResult.model_validate(response.json())

    # ------------------------------------------------------------------ plugin clients

    def _plugin(self, task_type: str) -> Any:
        client = self._plugins.get(task_type)
        if client is None:
            from cl_client.plugins import PLUGIN_CLIENT_CLASSES

            client = PLUGIN_CLIENT_CLASSES[task_type](self)
            self._plugins[task_type] = client
        return client

    @property
    def clip_embedding(self) -> ClipEmbeddingClient:
        return self._plugin("clip_embedding")

    @property
    def dino_embedding(self) -> DinoEmbeddingClient:
        return self._plugin("dino_embedding")

    @property
    def exif(self) -> ExifClient:
        return self._plugin("exif")

    @property
    def face_detection(self) -> FaceDetectionClient:
        return self._plugin("face_detection")

    @property
    def face_embedding(self) -> FaceEmbeddingClient:
        return self._plugin("face_embedding")

    @property
    def hash(self) -> HashClient:
        return self._plugin("hash")

    @property
    def hls_streaming(self) -> HlsStreamingClient:
        return self._plugin("hls_streaming")

    @property
    def image_conversion(self) -> ImageConversionClient:
        return self._plugin("image_conversion")

    @property
    def media_thumbnail(self) -> MediaThumbnailClient:
        return self._plugin("media_thumbnail")

    def plugin(self, task_type: str) -> BasePluginClient:
        """The plugin client for a task type name (``ValueError`` for unknown ones)."""
        ComputeClientConfig.get_plugin_endpoint(task_type)
        return self._plugin(task_type)

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """Stop polling, let scheduled callbacks finish, close HTTP and MQTT (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._fallback.close()
        await self._mqtt.drain()
        await self._session.aclose()
        if self._owns_mqtt:
            # loop_stop() joins paho's thread; keep the event loop free meanwhile.
            await asyncio.to_thread(self._mqtt.close)


def _job_url(job_id: str, template: str = ComputeClientConfig.ENDPOINT_GET_JOB) -> str:
    return template.format(job_id=quote(str(job_id), safe=""))


def _file_url(job_id: str, file_path: str) -> str:
    return ComputeClientConfig.ENDPOINT_GET_JOB_FILE.format(
        job_id=quote(str(job_id), safe=""), file_path=quote(file_path.lstrip("/"), safe="/")
    )


_TEMP_ATTEMPTS = 100


def _temp_beside(dest: Path) -> tuple[int, str]:
    """Create ``dest``'s folder and an open temp file in it (same filesystem: atomic rename).

    Unlike ``tempfile.mkstemp`` (always 0600), the file is created with mode 0666 filtered by
    the process umask, like any file the user writes (0644 under the usual umask 022): the
    rename keeps the mode, and a downloaded result is not a secret.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_TEMP_ATTEMPTS):
        tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {dest}")


def _replace(tmp: str, dest: Path) -> None:
    Path(tmp).replace(dest)


def _discard(tmp: str) -> None:
    Path(tmp).unlink(missing_ok=True)
