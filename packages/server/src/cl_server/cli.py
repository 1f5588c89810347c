"""``cl-server``: run the whole stack (``up``) or one service at a time."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer

from cl_server.settings import (
    AuthSettings,
    ComputeSettings,
    MqttSettings,
    WorkerSettings,
    default_data_dir,
)

app = typer.Typer(
    name="cl-server",
    help="CL Server: media processing services (auth, compute, workers, MQTT broker).",
    no_args_is_help=True,
    add_completion=False,
)

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Interface to listen on.", envvar="CL_HOST", show_envvar=True),
]


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cl-server {_version('cl-server')} (cl-client {_version('cl-client')})")
        raise typer.Exit


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """CL Server: media processing services (auth, compute, workers, MQTT broker)."""


def _overrides(**values: object) -> dict[str, Any]:
    """Only the options given on the command line; the rest come from the environment."""
    return {key: value for key, value in values.items() if value is not None}


@app.command()
def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where databases, keys, jobs and models live (default: per-user data directory).",
            envvar="CL_SERVER_DIR",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Interface the services listen on.", envvar="CL_HOST")
    ] = "127.0.0.1",
    auth_port: Annotated[
        int, typer.Option(help="Auth service port.", envvar="CL_AUTH_PORT")
    ] = 8000,
    compute_port: Annotated[
        int, typer.Option(help="Compute service port.", envvar="CL_COMPUTE_PORT")
    ] = 8002,
    mqtt_host: Annotated[
        str,
        typer.Option(
            help="MQTT broker host (an embedded broker starts if none answers).",
            envvar="CL_MQTT_HOST",
        ),
    ] = "localhost",
    mqtt_port: Annotated[int, typer.Option(help="MQTT broker port.", envvar="CL_MQTT_PORT")] = 1883,
    workers: Annotated[
        int, typer.Option(min=0, help="Number of worker processes.", envvar="CL_WORKERS")
    ] = 1,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth", help="Disable authentication on the compute service.", envvar="CL_NO_AUTH"
        ),
    ] = False,
    admin_password: Annotated[
        str | None,
        typer.Option(
            help="Password of the bootstrap admin (default: generated, printed once, saved "
            "in <data-dir>/admin-password.txt).",
            envvar="CL_ADMIN_PASSWORD",
        ),
    ] = None,
    tasks: Annotated[
        str,
        typer.Option(
            help="Comma-separated task types for the workers (default: all).", envvar="CL_TASKS"
        ),
    ] = "",
    pull_models: Annotated[
        bool,
        typer.Option(
            "--pull-models",
            help="Download every missing model the workers' plugins need before starting them.",
            envvar="CL_PULL_MODELS",
        ),
    ] = False,
) -> None:
    """Start broker, auth, compute and workers on this machine; Ctrl-C stops them all."""
    from cl_server.up.supervisor import Supervisor, UpOptions

    options = UpOptions(
        data_dir=(data_dir or default_data_dir()).expanduser().resolve(),
        host=host,
        auth_port=auth_port,
        compute_port=compute_port,
        mqtt_host=mqtt_host,
        mqtt_port=mqtt_port,
        workers=workers,
        no_auth=no_auth,
        admin_password=admin_password,
        tasks=tasks,
        pull_models=pull_models,
    )
    raise typer.Exit(Supervisor(options).run())


@app.command()
def auth(
    host: HostOption = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default 8000).", envvar="CL_AUTH_PORT")
    ] = None,
) -> None:
    """Run the auth service (users, JWT, public key)."""
    from cl_server.auth.main import run

    run(AuthSettings(**_overrides(host=host, auth_port=port)))


@app.command()
def compute(
    host: HostOption = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default 8002).", envvar="CL_COMPUTE_PORT")
    ] = None,
    no_auth: Annotated[
        bool | None, typer.Option("--no-auth", help="Disable authentication.", envvar="CL_NO_AUTH")
    ] = None,
) -> None:
    """Run the compute service (jobs, files, capabilities, admin)."""
    from cl_server.compute.main import run

    run(ComputeSettings(**_overrides(host=host, compute_port=port, no_auth=no_auth)))


@app.command()
def worker(
    tasks: Annotated[
        str | None,
        typer.Option(help="Comma-separated task types (default: all).", envvar="CL_TASKS"),
    ] = None,
    worker_id: Annotated[
        str | None, typer.Option(help="Worker id (default: host and pid).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes to run.")] = 1,
    burst: Annotated[
        bool, typer.Option(help="Exit when the queue is empty (for tests and batch runs).")
    ] = False,
) -> None:
    """Run a worker that claims jobs and runs plugins."""
    from cl_server.worker.main import run
    from cl_server.worker.plugins_loader import UnknownTaskTypeError

    settings = WorkerSettings(**_overrides(tasks=tasks))
    try:
        status = run(settings, worker_id=worker_id, concurrency=concurrency, burst=burst)
    except UnknownTaskTypeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(status)


broker_app = typer.Typer(
    help="Run the embedded MQTT broker (amqtt), or write a Mosquitto setup "
    "(`cl-server broker mosquitto-config`).",
    invoke_without_command=True,
    add_completion=False,
)
app.add_typer(broker_app, name="broker")


@broker_app.callback()
def broker(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Interface to listen on.", envvar="CL_MQTT_BIND")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", envvar="CL_MQTT_PORT")] = 1883,
) -> None:
    """Run the embedded MQTT broker (amqtt): the services' account publishes, anyone may read
    job events and worker capabilities."""
    if ctx.invoked_subcommand is not None:
        return
    from cl_server.broker.credentials import service_credentials
    from cl_server.broker.main import run

    settings = MqttSettings()
    credentials = service_credentials(settings)
    typer.echo(f"starting the embedded MQTT broker (amqtt) on {host}:{port}")
    typer.echo(
        f"publishing needs the service account {credentials.username!r} "
        f"(from {settings.credentials_source}); anonymous clients may only subscribe"
    )
    run(host, port, credentials)


@broker_app.command("mosquitto-config")
def mosquitto_config(
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the files (default: <data dir>/mosquitto)."),
    ] = None,
    bind: Annotated[
        str, typer.Option(help="Interface of the listener.", envvar="CL_MQTT_BIND")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the listener.", envvar="CL_MQTT_PORT")] = 1883,
    run_as: Annotated[
        str | None,
        typer.Option(
            help="Account Mosquitto switches to when started as root (its `user` option; "
            "default: Mosquitto's own, `mosquitto`). It must be able to read the files."
        ),
    ] = None,
) -> None:
    """Write a Mosquitto password file, ACL file and config for the services' account."""
    from cl_server.broker.credentials import service_credentials
    from cl_server.broker.mosquitto import write_mosquitto_config

    settings = MqttSettings()
    credentials = service_credentials(settings)
    target = (output_dir or settings.data_dir / "mosquitto").expanduser()
    files = write_mosquitto_config(target, credentials, bind=bind, port=port, run_as=run_as)
    user = credentials.username
    typer.echo(
        "\n".join(
            [
                f"wrote the Mosquitto setup for CL Server to {files.config.parent}:",
                f"  {files.password_file.name:<15} the service account {user!r} "
                "(PBKDF2-SHA512, Mosquitto 2 format), mode 0600",
                f"  {files.acl_file.name:<15} anonymous clients read inference/events and "
                f"inference/workers/+ only; {user!r} reads and writes everything",
                f"  {files.config.name:<15} listener {bind}:{port} using both, "
                "anonymous reading allowed",
                f"service credentials: {settings.credentials_source}",
                "  compute and workers sharing this data directory use them as they are; on",
                "  other machines set CL_MQTT_USERNAME and CL_MQTT_PASSWORD to the same values",
                "run the broker:",
                f"  mosquitto -c {files.config}",
                "  as the owner of these files; started as root, Mosquitto switches to the",
                "  `mosquitto` user, which must be able to read them (or see --run-as)",
                "then point the services at it: CL_MQTT_HOST, CL_MQTT_PORT "
                "(`cl-server up` uses a broker already answering there)",
                "run this command again after the service credentials change",
            ]
        )
    )


SUB_APP_NAMES = frozenset({"user", "models"})


def _mount_sub_apps() -> None:
    from cl_server.auth.cli import user_app
    from cl_server.models.cli import models_app

    app.add_typer(user_app, name="user", help="Manage users in the local auth database.")
    app.add_typer(models_app, name="models", help="List and download model weights.")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # The sub-apps import the auth database stack (~1 s); load them only when they are invoked
    # or listed, so `worker`, `compute` and `up` children start faster.
    if not args or args[0] in SUB_APP_NAMES or (args[0].startswith("-") and args[0] != "--version"):
        _mount_sub_apps()
    app(args)


if __name__ == "__main__":
    main()
