"""``cl-client jobs ...``: list, inspect, follow, cancel, retry and delete jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cl_client.cli.common import (
    CliError,
    CliState,
    compute_client,
    get_state,
    print_json,
    report_deleted,
    run,
    too_old,
)
from cl_client.cli.reattach import reattach_command
from cl_client.cli.results import exit_status, report_job
from cl_client.cli.timefmt import ago, duration, parse_since
from cl_client.cli.watch import watch_job
from cl_client.compute_client import ComputeClient
from cl_client.exceptions import InvalidRequestError, ServerHTTPError
from cl_client.job_query import MAX_PAGE_SIZE
from cl_client.models import JobResponse, OnJobResponseCallback

jobs_app = typer.Typer(help="List, follow, cancel, retry and delete jobs.", no_args_is_help=True)

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Machine-readable output (same as the global --json).")
]


class Status(StrEnum):
    queued = "queued"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


def _with_json(ctx: typer.Context, json_output: bool) -> CliState:
    state = get_state(ctx)
    if json_output:
        state.json_output = True
    return state


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    status: Annotated[
        list[Status] | None,
        typer.Option("--status", "-s", help="Only jobs in this status; repeat for several."),
    ] = None,
    task_type: Annotated[
        str | None, typer.Option("--task-type", help="Only this task type, e.g. hash.")
    ] = None,
    created_by: Annotated[
        str | None, typer.Option("--created-by", help="Only jobs of this user id (admins).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only jobs created after: a duration back (30m, 2h, 1d) or ISO time."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N jobs.")] = 50,
    json_output: JsonOpt = False,
) -> None:
    """Jobs newest first, with status, progress, age and run time."""
    state = _with_json(ctx, json_output)
    try:
        created_after = parse_since(since) if since else None
    except CliError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None

    async def go() -> None:
        jobs: list[JobResponse] = []
        async with compute_client(state, mqtt=False) as client:
            listing = client.list_jobs(
                status=[s.value for s in status] if status else None,
                task_type=task_type,
                created_by=created_by,
                created_after=created_after,
                page_size=min(limit, MAX_PAGE_SIZE),
            )
            try:
                async with aclosing(listing) as pages:
                    async for job in pages:
                        jobs.append(job)
                        if len(jobs) >= limit:
                            break
            except ServerHTTPError as exc:
                raise too_old(exc, "list jobs") or exc from None
        if state.json_output:
            print_json(jobs)
            return
        _print_jobs(jobs)

    run(state, go())


def _status_cell(job: JobResponse) -> str:
    """Status with what explains it: progress and worker, run time, the error, the wait."""
    if job.status == "processing":
        where = f" on {job.worker_id}" if job.worker_id else ""
        return f"processing {job.progress}%{where}"
    if job.status == "queued":
        return f"queued: {job.waiting_reason}" if job.waiting_reason else "queued"
    text = job.status
    took = duration(job.started_at, job.completed_at)
    if took != "-":
        text += f" {took}"
    if job.error_message:
        text += f": {job.error_message}"
    return text


def _print_jobs(jobs: list[JobResponse]) -> None:
    if not jobs:
        typer.echo("no jobs")
        return
    table = Table(box=None, pad_edge=False)
    # Ids are what users copy into other commands: never wrapped, never cut. The status
    # column takes the rest of the width and wraps, so 80 columns still fit.
    table.add_column("job id", no_wrap=True, min_width=36)
    table.add_column("task type", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("status", overflow="fold", ratio=1)
    for job in jobs:
        table.add_row(job.job_id, job.task_type, ago(job.created_at), _status_cell(job))
    Console().print(table)
    typer.echo(f"{len(jobs)} job(s)")


@jobs_app.command("get")
def jobs_get(ctx: typer.Context, job_id: str) -> None:
    """Print a job as JSON."""
    state = get_state(ctx)

    async def go() -> None:
        async with compute_client(state, mqtt=False) as client:
            print_json(await client.get_job(job_id))

    run(state, go())


@jobs_app.command("wait")
def jobs_wait(
    ctx: typer.Context,
    job_id: str,
    timeout: Annotated[float, typer.Option("--timeout", "-t")] = 60.0,
) -> None:
    """Wait for a job to finish and print its result; exit status 1 unless it completed."""
    state = get_state(ctx)

    async def go() -> int:
        async with compute_client(state, mqtt=True) as client:
            state.pending.add(job_id)
            job = await client.wait_for_job(job_id, timeout=timeout)
            state.pending.discard(job_id)
            await report_job(state, client, job)
        return exit_status(state, job)

    run(state, go())


@jobs_app.command("watch")
def jobs_watch(
    ctx: typer.Context,
    job_id: str,
    timeout: Annotated[
        float | None, typer.Option("--timeout", "-t", help="Give up after N seconds.")
    ] = None,
) -> None:
    """Follow a job (e.g. after Ctrl-C on --watch) with a progress bar, then print its result."""
    state = get_state(ctx)

    async def go() -> int:
        async with compute_client(state, mqtt=True) as client:
            job = await _watch_existing(client, state, job_id, timeout)
            await report_job(state, client, job)
        return exit_status(state, job)

    run(state, go())


async def _watch_existing(
    client: ComputeClient, state: CliState, job_id: str, limit: float | None
) -> JobResponse:
    async def start(
        on_progress: OnJobResponseCallback, on_complete: OnJobResponseCallback
    ) -> JobResponse:
        job = await client.get_job(job_id)  # an unknown id fails here, before any bar
        # Subscribing after the GET is safe: the SDK replays events that already arrived.
        client.subscribe_job_updates(job_id, on_progress, on_complete, task_type=job.task_type)
        return job

    return await watch_job(client, state, f"job {job_id[:8]}", start, limit)


async def _job_action(
    state: CliState, job_id: str, verb: str, act: Callable[[ComputeClient], Awaitable[JobResponse]]
) -> JobResponse:
    """Run ``act`` (cancel or retry) and turn its refusals into one readable line."""
    async with compute_client(state, mqtt=False) as client:
        try:
            return await act(client)
        except InvalidRequestError as exc:
            raise CliError(f"cannot {verb} job {job_id}: {exc.detail}") from None
        except ServerHTTPError as exc:
            raise too_old(exc, f"{verb} jobs") or exc from None


@jobs_app.command("cancel")
def jobs_cancel(ctx: typer.Context, job_id: str) -> None:
    """Cancel a queued or running job (its worker stops it)."""
    state = get_state(ctx)

    async def go() -> None:
        job = await _job_action(state, job_id, "cancel", lambda c: c.cancel_job(job_id))
        if state.json_output:
            print_json(job)
        else:
            typer.echo(f"Cancelled job {job.job_id} ({job.task_type})")

    run(state, go())


@jobs_app.command("retry")
def jobs_retry(ctx: typer.Context, job_id: str) -> None:
    """Queue a failed or cancelled job again."""
    state = get_state(ctx)

    async def go() -> None:
        job = await _job_action(state, job_id, "retry", lambda c: c.retry_job(job_id))
        if state.json_output:
            print_json(job)
            return
        typer.echo(f"Job {job.job_id} ({job.task_type}) is {job.status} again")
        typer.echo(f"follow it with: {reattach_command(state.compute_url, job.job_id)}")

    run(state, go())


@jobs_app.command("delete")
def jobs_delete(
    ctx: typer.Context,
    job_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a job and all its files."""
    state = get_state(ctx)
    if not yes:
        typer.confirm(f"Delete job {job_id} and its files?", abort=True)

    async def go() -> None:
        async with compute_client(state, mqtt=False) as client:
            await client.delete_job(job_id)
        report_deleted(state.json_output, "job", job_id)

    run(state, go())
