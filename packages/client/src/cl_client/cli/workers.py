"""``cl-client workers list``: the workers the compute service knows, busy, idle or gone."""

from __future__ import annotations

from typing import Annotated

import typer

from cl_client.cli.common import compute_client, get_state, print_json, run, too_old
from cl_client.cli.timefmt import ago
from cl_client.exceptions import ServerHTTPError
from cl_client.models import WorkerInfo

workers_app = typer.Typer(help="Workers connected to the compute service.", no_args_is_help=True)


def worker_lines(worker: WorkerInfo) -> list[str]:
    """One short block per worker: a worker has too many attributes for an 80-column row."""
    where = f"  {worker.host}:{worker.pid}" if worker.host and worker.pid else ""
    seen = "left" if worker.state == "gone" else "last seen"
    lines = [f"{worker.worker_id}  {worker.state}{where}  {seen} {ago(worker.last_seen)}"]
    facts: list[tuple[str, str]] = [("tasks", ", ".join(worker.task_types) or "none")]
    running = worker.current_job_ids or ([worker.current_job_id] if worker.current_job_id else [])
    facts += [("running", job_id) for job_id in running]  # full ids: they are copied
    facts.append(("jobs", f"{worker.jobs_done} done, {worker.jobs_failed} failed"))
    if worker.execution_provider:
        facts.append(("provider", worker.execution_provider))
    if worker.models:
        facts.append(("models", ", ".join(worker.models)))
    facts += [("unavailable", f"{task}: {why}") for task, why in sorted(worker.unavailable.items())]
    width = max(len(label) for label, _ in facts)
    lines += [f"  {label + ':':<{width + 1}} {value}" for label, value in facts]
    return lines


@workers_app.command("list")
def workers_list(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable output (same as the global --json).")
    ] = False,
) -> None:
    """Each worker's state, task types, current jobs and counters."""
    state = get_state(ctx)
    if json_output:
        state.json_output = True

    async def go() -> None:
        async with compute_client(state, mqtt=False) as client:
            try:
                workers = await client.list_workers()
            except ServerHTTPError as exc:
                raise too_old(exc, "list workers") or exc from None
        if state.json_output:
            print_json(workers)
            return
        if not workers:
            typer.echo("no workers (start one with `cl-server worker`)")
            return
        for worker in workers:
            for line in worker_lines(worker):
                typer.echo(line)
        busy = sum(1 for w in workers if w.state == "busy")
        idle = sum(1 for w in workers if w.state == "idle")
        typer.echo(f"{idle} idle, {busy} busy, {len(workers) - idle - busy} gone")

    run(state, go())
