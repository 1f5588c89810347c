"""Running plugin jobs from the command line: one file, a batch, progress bars, downloads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cl_client.batch import BatchItem, BatchProgress, BatchProgressCallback
from cl_client.cli.common import CliError, CliState, compute_client, describe_error, print_json
from cl_client.compute_client import ComputeClient
from cl_client.exceptions import JobTimeoutError
from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.outputs import primary_output_file

#: Submits the job: (client, on_progress, on_complete, wait, timeout) -> job.
Submit = Callable[
    [ComputeClient, OnJobResponseCallback, OnJobResponseCallback, bool, float | None],
    Awaitable[JobResponse],
]


@dataclass
class JobOptions:
    """Options every plugin command shares."""

    watch: bool = False
    timeout: float = 60.0
    output: Path | None = None
    output_dir: Path | None = None
    concurrency: int = 4
    priority: int = 5
    params: Mapping[str, object] = field(default_factory=lambda: {})


def _stderr_console() -> Console:
    return Console(stderr=True)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def run_single(
    state: CliState, label: str, submit: Submit, options: JobOptions, stem: str | None
) -> int:
    """Submit one job, wait (or watch) until it ends, download, print the job as JSON."""
    async with compute_client(state, mqtt=True) as client:
        if options.watch:
            job = await _watch_one(client, label, submit, options.timeout)
        else:
            job = await submit(client, None, None, True, options.timeout)
        await _save_outputs(state, client, job, options, stem)
        print_json(job)
        if job.status != "completed":
            if not state.json_output:
                reason = job.error_message or "no error message"
                typer.echo(f"Error: job {job.job_id} {job.status}: {reason}", err=True)
            return 1
        return 0


WAITING_CHECK_S = 2.0
"""How often ``--watch`` asks the server why a still-queued job waits (events only say queued)."""


async def _watch_one(
    client: ComputeClient, label: str, submit: Submit, limit: float
) -> JobResponse:
    finished = asyncio.Event()
    loop = asyncio.get_running_loop()
    with _progress(_stderr_console()) as progress:
        bar = progress.add_task(label, total=100, status="submitting")
        latest: list[JobResponse] = []

        def on_progress(job: JobResponse) -> None:
            latest.append(job)
            progress.update(bar, completed=job.progress, status=job.status)

        def on_complete(_job: JobResponse) -> None:
            finished.set()

        job = await submit(client, on_progress, on_complete, False, None)
        progress.update(bar, completed=job.progress, status=job.status)
        deadline = loop.time() + limit
        shown_reason: str | None = None
        while not finished.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                last = await client.get_job(job.job_id)
                progress.update(bar, status=f"{last.status} (timeout)")
                raise JobTimeoutError(job.job_id, limit, last.status, last.waiting_reason)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), min(remaining, WAITING_CHECK_S))
            if finished.is_set() or (latest and latest[-1].status != "queued"):
                continue
            current = await client.get_job(job.job_id)
            if current.waiting_reason != shown_reason and current.status == "queued":
                shown_reason = current.waiting_reason
                if shown_reason:
                    progress.console.print(f"job {job.job_id} is waiting: {shown_reason}")
            if current.is_terminal:
                break
        job = await client.get_job(job.job_id)
        done = 100 if job.status == "completed" else job.progress
        progress.update(bar, completed=done, status=job.status)
    return job


async def _save_outputs(
    state: CliState,
    client: ComputeClient,
    job: JobResponse,
    options: JobOptions,
    stem: str | None,
) -> list[Path]:
    if job.status != "completed":
        return []
    saved: list[Path] = []
    if options.output is not None:
        file_path = primary_output_file(job)
        if file_path is None:
            raise CliError(f"job {job.job_id} has no output file to save")
        await client.download_job_file(job.job_id, file_path, options.output)
        saved.append(options.output)
    if options.output_dir is not None:
        target = options.output_dir / stem if stem else options.output_dir
        saved.extend(await client.download_job_outputs(job, target))
    if saved and not state.json_output:
        for path in saved:
            typer.echo(f"Saved {path}", err=True)
    return saved


def unique_stems(paths: list[Path]) -> list[str]:
    """Folder names for per-file outputs: the file stem, with ``-2``, ``-3`` for repeats."""
    used: dict[str, int] = {}
    names: list[str] = []
    for path in paths:
        stem = path.stem or path.name
        count = used.get(stem, 0) + 1
        used[stem] = count
        names.append(stem if count == 1 else f"{stem}-{count}")
    return names


async def run_batch(state: CliState, task_type: str, paths: list[Path], options: JobOptions) -> int:
    """Submit one job per file (bounded concurrency), one aggregate bar under ``--watch``."""
    if options.output is not None:
        raise CliError("-o/--output takes a single input file; use --output-dir for several")
    stems = dict(zip(paths, unique_stems(paths), strict=True))
    download_errors: dict[Path, str] = {}
    async with compute_client(state, mqtt=True) as client:
        plugin = client.plugin(task_type)

        async def on_item_done(item: BatchItem) -> None:
            if options.output_dir is None or not item.ok or item.job is None:
                return
            try:
                await client.download_job_outputs(item.job, options.output_dir / stems[item.path])
            except Exception as exc:  # a failed download fails this file, not the batch
                download_errors[item.path] = describe_error(exc)

        async def submit(on_progress: BatchProgressCallback | None) -> list[BatchItem]:
            return await plugin.submit_batch(
                paths,
                options.params,
                concurrency=options.concurrency,
                priority=options.priority,
                timeout=options.timeout,
                on_progress=on_progress,
                on_item_done=on_item_done,
            )

        if options.watch:
            with _progress(_stderr_console()) as progress:
                bar = progress.add_task(f"{task_type} x{len(paths)}", total=100, status="")

                def on_progress(state_: BatchProgress) -> None:
                    progress.update(
                        bar,
                        completed=state_.percent,
                        status=f"{state_.done}/{state_.total} done, {state_.failed} failed",
                    )

                items = await submit(on_progress)
        else:
            items = await submit(None)
    _print_batch(state, items, download_errors)
    ok = all(item.ok for item in items) and not download_errors
    return 0 if ok else 1


def _print_batch(state: CliState, items: list[BatchItem], download_errors: dict[Path, str]) -> None:
    rows: list[dict[str, object]] = []
    for item in items:
        error = describe_error(item.error) if item.error is not None else None
        if error is None and item.job is not None and item.job.status != "completed":
            error = item.job.error_message or f"job {item.job.status}"
        error = error or download_errors.get(item.path)
        rows.append(
            {
                "file": str(item.path),
                "job_id": item.job.job_id if item.job else None,
                "status": "failed" if item.path in download_errors else item.status,
                "error": error,
                "job": item.job,
            }
        )
    if state.json_output:
        print_json(rows)
        return
    table = Table("file", "job id", "status", "error")
    for row in rows:
        table.add_row(
            str(row["file"]), str(row["job_id"] or "-"), str(row["status"]), str(row["error"] or "")
        )
    Console().print(table)
    failed = sum(1 for row in rows if row["status"] != "completed")
    typer.echo(f"{len(rows) - failed} completed, {failed} failed")
