"""Following one job with a progress bar until it ends (``--watch`` and ``jobs watch``).

MQTT events (or the SDK's polling fallback) move the bar. Every ``WAITING_CHECK_S`` (liveness)
seconds the watch also asks the server for the job: that check tells why a queued job waits
(events only say "queued"), notices a terminal state whose event was missed, and is the HTTP
half of lost-server detection (:mod:`cl_client.cli.liveness`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cl_client.cli.common import CliState
from cl_client.cli.liveness import ServerCheck
from cl_client.compute_client import ComputeClient
from cl_client.exceptions import JobTimeoutError
from cl_client.models import JobResponse, OnJobResponseCallback

__all__ = ["StartJob", "progress_display", "stderr_console", "watch_job"]

#: Starts following a job, given the bar's callbacks; returns the job as it is now.
StartJob = Callable[[OnJobResponseCallback, OnJobResponseCallback], Awaitable[JobResponse]]


def stderr_console() -> Console:
    return Console(stderr=True)


def progress_display(console: Console) -> Progress:
    """Bars with status, percentage, elapsed time and an estimate of the time left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


async def watch_job(
    client: ComputeClient,
    state: CliState,
    label: str,
    start: StartJob,
    limit: float | None,
    *,
    announce: bool = False,
) -> JobResponse:
    """Show a bar for the job ``start`` returns until it is terminal; return the final job.

    ``announce`` prints the job's full id above the bar (for a job just submitted, whose id
    the user has not seen yet). The job is in ``state.pending`` while followed (Ctrl-C and a
    lost server report it).
    Raises :class:`JobTimeoutError` after ``limit`` seconds (None: no limit) and
    :class:`~cl_client.cli.liveness.ServerLostError` when the service goes away.
    """
    finished = asyncio.Event()
    with progress_display(stderr_console()) as progress, ServerCheck(client, state) as check:
        bar = progress.add_task(label, total=100, status="starting")

        def on_progress(job: JobResponse) -> None:
            progress.update(bar, completed=job.progress, status=job.status)

        def on_complete(_job: JobResponse) -> None:
            finished.set()
            check.poke()

        job = await start(on_progress, on_complete)
        state.pending.add(job.job_id)
        if announce:
            progress.console.print(f"job {job.job_id} submitted")
        progress.update(bar, completed=job.progress, status=job.status)
        job = await _follow(client, check, progress, bar, job, finished, limit)
        if job.is_terminal:
            state.pending.discard(job.job_id)
        done = 100 if job.status == "completed" else job.progress
        progress.update(bar, completed=done, status=job.status)
    return job


async def _follow(
    client: ComputeClient,
    check: ServerCheck,
    progress: Progress,
    bar: TaskID,
    job: JobResponse,
    finished: asyncio.Event,
    limit: float | None,
) -> JobResponse:
    loop = asyncio.get_running_loop()
    deadline = None if limit is None else loop.time() + limit
    current = job
    shown_reason: str | None = None

    def fetch() -> Awaitable[JobResponse]:
        return client.get_job(job.job_id)

    while not (finished.is_set() or current.is_terminal):
        delay = check.delay
        if deadline is not None and limit is not None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                progress.update(bar, status=f"{current.status} (timeout)")
                raise JobTimeoutError(job.job_id, limit, current.status, current.waiting_reason)
            delay = min(delay, remaining)
        await check.sleep(delay)
        if finished.is_set():
            break
        polled = await check.call(fetch)
        if polled is None:
            continue
        current = polled
        if current.status == "queued" and current.waiting_reason != shown_reason:
            shown_reason = current.waiting_reason
            if shown_reason:
                progress.console.print(f"job {job.job_id} is waiting: {shown_reason}")
    if current.is_terminal:
        return current
    # The terminal event carries status and progress only; the result comes from the server.
    return await check.call_until_answered(fetch)
