"""Many files through one plugin with bounded concurrency and one aggregate progress callback.

Example::

    async with ComputeClient() as client:
        items = await client.hash.submit_batch(
            Path("photos").glob("*.jpg"),
            concurrency=4,
            on_progress=lambda p: print(f"{p.percent:5.1f}% {p.done}/{p.total}"),
        )
    failed = [i for i in items if not i.ok]

At most ``concurrency`` jobs are in flight (uploaded and not yet finished) at any time, so a
folder of ten thousand photos neither floods the server's queue nor opens ten thousand uploads.
A file that cannot be submitted (missing, rejected with 422, ...) becomes a failed item; the other
files go on.
"""

# ruff: noqa: ASYNC109 - `timeout` parameters are part of the public API (PROTOCOL §7)

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cl_client.models import JobResponse

if TYPE_CHECKING:
    from cl_client.compute_client import ComputeClient
    from cl_client.plugins.base import BasePluginClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchProgress:
    """Aggregate state of a batch."""

    total: int
    submitted: int
    completed: int
    failed: int
    #: Mean progress over all files (finished ones count as 100), 0..100.
    percent: float

    @property
    def done(self) -> int:
        return self.completed + self.failed


@dataclass
class BatchItem:
    """Outcome for one input file."""

    path: Path
    #: Set once the job exists on the server.
    job_id: str | None = None
    #: The job once it has ended (or, after an error, as last read).
    job: JobResponse | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.job is not None and self.job.status == "completed"

    @property
    def status(self) -> str:
        if self.job is not None:
            return self.job.status
        return "failed" if self.error is not None else "pending"


BatchProgressCallback = Callable[[BatchProgress], Any] | Callable[[BatchProgress], Awaitable[Any]]


class _Tracker:
    """Per-file progress; emits an aggregate :class:`BatchProgress` on every change."""

    def __init__(self, total: int, callback: BatchProgressCallback | None) -> None:
        self.total: int = total
        self.callback: BatchProgressCallback | None = callback
        self.progress: list[int] = [0] * total
        self.submitted: int = 0
        self.completed: int = 0
        self.failed: int = 0
        self._last: BatchProgress | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def snapshot(self) -> BatchProgress:
        percent = sum(self.progress) / self.total if self.total else 100.0
        return BatchProgress(self.total, self.submitted, self.completed, self.failed, percent)

    def emit(self) -> None:
        state = self.snapshot()
        if state == self._last or self.callback is None:
            return
        self._last = state
        try:
            result = self.callback(state)
        except Exception:
            logger.exception("batch progress callback failed")
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)  # pyright: ignore[reportArgumentType]
            task.add_done_callback(self._tasks.discard)  # pyright: ignore[reportArgumentType]

    def update(self, index: int, progress: int) -> None:
        if progress > self.progress[index]:
            self.progress[index] = min(progress, 100)
            self.emit()

    def finish(self, index: int, ok: bool) -> None:
        self.progress[index] = 100
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        self.emit()

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def submit_batch(
    plugin: BasePluginClient,
    files: Iterable[Path | str],
    params: Mapping[str, object] | None = None,
    *,
    concurrency: int = 4,
    priority: int = 5,
    timeout: float | None = None,
    on_progress: BatchProgressCallback | None = None,
    on_item_done: Callable[[BatchItem], Any] | None = None,
    on_item_submitted: Callable[[BatchItem], Any] | None = None,
) -> list[BatchItem]:
    """Submit one ``plugin`` job per file and wait for all; returns items in input order.

    ``timeout`` bounds each job's wait (a timed-out job becomes an item with a ``TimeoutError``).
    ``on_progress`` receives a :class:`BatchProgress` after every change (sync or async);
    ``on_item_submitted`` receives each :class:`BatchItem` once its job exists on the server
    (so a caller interrupted mid-batch knows which jobs are running there), ``on_item_done``
    each item as it finishes.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    paths = [Path(f) for f in files]
    items = [BatchItem(path=p) for p in paths]
    tracker = _Tracker(len(paths), on_progress)
    client = plugin.client
    limit = asyncio.Semaphore(concurrency)

    async def run_one(index: int) -> None:
        item = items[index]
        async with limit:
            subscription_id: str | None = None
            try:
                job_id = await plugin.post_with_files({"file": item.path}, params, priority)
                item.job_id = job_id
                tracker.submitted += 1
                tracker.emit()
                await _call_item_callback(on_item_submitted, item)
                # Live progress from MQTT (events since the POST are replayed); wait_for_job
                # below already polls, so no second poller is started for this subscription.
                subscription_id = client.mqtt_subscribe_job_updates(
                    job_id,
                    on_progress=lambda j: tracker.update(index, j.progress),
                    task_type=plugin.task_type,
                    poll_fallback=False,
                )
                # Just created, so not finished: with MQTT up the wait starts with the job's
                # terminal event rather than a read.
                item.job = await client.wait_for_job(job_id, timeout=timeout, fetched=True)
            except Exception as exc:  # one bad file must not stop the batch
                item.error = exc
                if item.job_id is not None:
                    item.job = await _last_known(client, item.job_id)
            finally:
                if subscription_id is not None:
                    client.unsubscribe(subscription_id)
        tracker.finish(index, item.ok)
        await _call_item_callback(on_item_done, item)

    tracker.emit()
    await asyncio.gather(*(run_one(i) for i in range(len(items))))
    await tracker.drain()
    return items


async def _last_known(client: ComputeClient, job_id: str) -> JobResponse | None:
    """The job as the server has it now, for an item that failed after its job was created
    (a timeout, a lost connection); ``None`` when even that read fails."""
    try:
        return await client.get_job(job_id)
    except Exception:  # the item already carries the error that matters
        logger.debug("could not read job %s after its batch item failed", job_id, exc_info=True)
        return None


async def _call_item_callback(callback: Callable[[BatchItem], Any] | None, item: BatchItem) -> None:
    """Run a sync or async item callback; its failure is logged, never the batch's."""
    if callback is None:
        return
    try:
        result = callback(item)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("batch item callback failed")
