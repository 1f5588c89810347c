"""``cl-client``: submit jobs, watch them, download results, manage users (PROTOCOL.md §7.11)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cl_client.cli import plugins
from cl_client.cli.common import (
    DEFAULT_AUTH_URL,
    DEFAULT_COMPUTE_URL,
    DEFAULT_MQTT_HOST,
    DEFAULT_MQTT_PORT,
    DEFAULT_STORE_URL,
    AuthUrlOpt,
    CliState,
    ComputeUrlOpt,
    MqttHostOpt,
    MqttPortOpt,
    StoreUrlOpt,
    compute_client,
    get_state,
    print_json,
    root_app,
    run,
)
from cl_client.cli.job_commands import jobs_app
from cl_client.cli.passwords import PasswordStdinOpt, stdin_password_or_fail
from cl_client.cli.users import user_app
from cl_client.cli.workers import workers_app

app = root_app(
    "cl-client", "Command-line client of CL Server: run plugins on files, follow jobs, get results."
)


def client_version() -> str:
    """The installed ``cl-client`` distribution's version (the package's own when not installed)."""
    try:
        return version("cl-client")
    except PackageNotFoundError:
        from cl_client import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cl-client {client_version()}")
        raise typer.Exit


@app.callback()
def main_options(
    ctx: typer.Context,
    username: Annotated[
        str | None, typer.Option("--username", envvar="CL_USERNAME", help="Log in as this user.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="CL_PASSWORD",
            help="Password for it; CL_PASSWORD or --password-stdin keep it out of argv. "
            "Asked for when none is given and stdin is a terminal.",
        ),
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    auth_url: AuthUrlOpt = DEFAULT_AUTH_URL,
    compute_url: ComputeUrlOpt = DEFAULT_COMPUTE_URL,
    store_url: StoreUrlOpt = DEFAULT_STORE_URL,
    mqtt_broker: MqttHostOpt = DEFAULT_MQTT_HOST,
    mqtt_port: MqttPortOpt = DEFAULT_MQTT_PORT,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Ignore credentials; send no token.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable output (errors as JSON too).")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options go before the command, e.g. ``cl-client --json hash compute a.jpg``."""
    state = ctx.obj = CliState(
        username=username,
        password=password,
        auth_url=auth_url,
        compute_url=compute_url,
        store_url=store_url,
        mqtt_broker=mqtt_broker,
        mqtt_port=mqtt_port,
        no_auth=no_auth,
        json_output=json_output,
    )
    if password_stdin:
        state.password = stdin_password_or_fail(state)


plugins.register(app)
app.add_typer(user_app, name="user")
app.add_typer(jobs_app, name="jobs")
app.add_typer(workers_app, name="workers")


@app.command("download")
def download(
    ctx: typer.Context,
    job_id: str,
    file_path: Annotated[str, typer.Argument(help="Job-relative path, e.g. output/hash.json.")],
    dest: Annotated[
        Path | None, typer.Argument(help="Where to write it (default: its file name).")
    ] = None,
) -> None:
    """Download one file of a job."""
    state = get_state(ctx)
    target = dest if dest is not None else Path(PurePosixPath(file_path).name)

    async def go() -> None:
        async with compute_client(state, mqtt=False) as client:
            await client.download_job_file(job_id, file_path, target)
        size = target.stat().st_size
        if state.json_output:
            print_json({"job_id": job_id, "file_path": file_path, "dest": target, "size": size})
        else:
            typer.echo(f"Downloaded {file_path} to {target} ({size} bytes)")

    run(state, go())


compute_app = typer.Typer(help="Compute service information.", no_args_is_help=True)
app.add_typer(compute_app, name="compute")


@compute_app.command("capabilities")
def capabilities(ctx: typer.Context) -> None:
    """Workers known to the server and idle slots per task type."""
    state = get_state(ctx)

    async def go() -> None:
        async with compute_client(state, mqtt=False) as client:
            caps = await client.get_capabilities()
        if state.json_output:
            print_json(caps)
            return
        table = Table("task type", "idle workers")
        for task_type, idle in sorted(caps.capabilities.items()):
            table.add_row(task_type, str(idle))
        Console().print(table)
        typer.echo(f"{caps.num_workers} worker(s) connected")
        for task_type, reason in sorted(caps.unavailable.items()):
            typer.echo(f"unavailable: {task_type}: {reason}")

    run(state, go())


@compute_app.command("info")
def info(ctx: typer.Context) -> None:
    """Service status, version, guest mode and whether auth is enforced."""
    state = get_state(ctx)

    async def go() -> None:
        async with compute_client(state, mqtt=False) as client:
            print_json(await client.get_service_info())

    run(state, go())


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
