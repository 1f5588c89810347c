"""Running plugin jobs from the command line: one file, a batch, progress bars, downloads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import typer

from cl_client.batch import BatchItem, BatchProgress, BatchProgressCallback
from cl_client.cli.common import CliError, CliState, compute_client, describe_error, print_json
from cl_client.cli.liveness import ServerCheck, ServerLostError
from cl_client.cli.results import exit_status, report_job, result_lines
from cl_client.cli.watch import progress_display, stderr_console, watch_job
from cl_client.compute_client import ComputeClient
from cl_client.models import JobResponse, OnJobResponseCallback
from cl_client.outputs import primary_output_file

__all__ = ["JobOptions", "Submit", "run_batch", "run_single", "unique_stems"]

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


async def run_single(
    state: CliState, label: str, submit: Submit, options: JobOptions, stem: str | None
) -> int:
    """Submit one job, wait (or watch) until it ends, download, print its result."""
    async with compute_client(state, mqtt=True) as client:
        if options.watch:

            async def start(
                on_progress: OnJobResponseCallback, on_complete: OnJobResponseCallback
            ) -> JobResponse:
                return await submit(client, on_progress, on_complete, False, None)

            job = await watch_job(client, state, label, start, options.timeout, announce=True)
        else:
            job = await _submit_and_wait(state, client, submit, options.timeout)
        saved = await _save_outputs(client, job, options, stem)
        await report_job(state, client, job, saved)
    return exit_status(state, job)


async def _submit_and_wait(
    state: CliState, client: ComputeClient, submit: Submit, limit: float
) -> JobResponse:
    """Submit, then poll (``wait_for_job``) with the job recorded as pending meanwhile."""
    job = await submit(client, None, None, False, None)
    state.pending.add(job.job_id)
    if not job.is_terminal:
        try:
            job = await client.wait_for_job(job.job_id, timeout=limit)
        except httpx.TransportError as exc:  # the job was accepted: it runs on without us
            raise ServerLostError(state.compute_url, state.pending.ids) from exc
    state.pending.discard(job.job_id)
    return job


async def _save_outputs(
    client: ComputeClient, job: JobResponse, options: JobOptions, stem: str | None
) -> list[Path]:
    """Download what ``-o`` and ``--output-dir`` ask for; the local paths written."""
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
    saved: dict[Path, list[Path]] = {}
    download_errors: dict[Path, str] = {}
    async with compute_client(state, mqtt=True) as client:
        plugin = client.plugin(task_type)

        def on_item_submitted(item: BatchItem) -> None:
            if item.job_id is not None:
                state.pending.add(item.job_id)

        async def on_item_done(item: BatchItem) -> None:
            if item.job is not None and item.job.is_terminal:
                state.pending.discard(item.job.job_id)
            if options.output_dir is None or not item.ok or item.job is None:
                return
            try:
                saved[item.path] = await client.download_job_outputs(
                    item.job, options.output_dir / stems[item.path]
                )
            except Exception as exc:  # a failed download fails this file, not the batch
                download_errors[item.path] = describe_error(exc)

        def submit(on_progress: BatchProgressCallback | None) -> Awaitable[list[BatchItem]]:
            return plugin.submit_batch(
                paths,
                options.params,
                concurrency=options.concurrency,
                priority=options.priority,
                timeout=options.timeout,
                on_progress=on_progress,
                on_item_done=on_item_done,
                on_item_submitted=on_item_submitted,
            )

        with ServerCheck(client, state) as check:
            if options.watch:
                with progress_display(stderr_console()) as progress:
                    bar = progress.add_task(f"{task_type} x{len(paths)}", total=100, status="")

                    def on_progress(state_: BatchProgress) -> None:
                        progress.update(
                            bar,
                            completed=state_.percent,
                            status=f"{state_.done}/{state_.total} done, {state_.failed} failed",
                        )

                    items = await check.guard(submit(on_progress))
            else:
                items = await check.guard(submit(None))
            if any(isinstance(item.error, httpx.TransportError) for item in items):
                # Files failed on connection errors: tell a dead service from a hiccup.
                await check.call_until_answered(client.get_service_info)
        await _print_batch(state, client, items, saved, download_errors)
    ok = all(item.ok for item in items) and not download_errors
    return 0 if ok else 1


async def _print_batch(
    state: CliState,
    client: ComputeClient,
    items: list[BatchItem],
    saved: dict[Path, list[Path]],
    download_errors: dict[Path, str],
) -> None:
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
    blocks = await asyncio.gather(
        *(
            _item_block(client, item, row, saved.get(item.path, []))
            for item, row in zip(items, rows, strict=True)
        )
    )
    for block in blocks:
        for line in block:
            typer.echo(line)
    failed = sum(1 for row in rows if row["status"] != "completed")
    typer.echo(f"{len(rows) - failed} completed, {failed} failed")


async def _item_block(
    client: ComputeClient, item: BatchItem, row: dict[str, object], saved: list[Path]
) -> list[str]:
    """A completed file's result block; one line for a file that failed."""
    if row["error"] is None and item.job is not None:
        return await result_lines(client, item.job, saved, title=str(item.path))
    job = f"job {row['job_id']}  {row['status']}" if row["job_id"] else "not submitted"
    return [f"{item.path}  {job}: {row['error']}"]
