"""``cl-server models``: list the registered models and where they were found; pull one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cl_server.models.locate import data_dir_from_env, model_search_dirs, model_status
from cl_server.models.lock import lock_key, read_lock
from cl_server.models.pull import PullError, pull_model, verify_model
from cl_server.models.registry import MODELS, ModelInfo, get_model

models_app = typer.Typer(help="List and download ML models.", no_args_is_help=True)

ModelsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--models-dir",
        envvar="CL_MODELS_DIR",
        help="Extra model directory searched first (one sub-directory per model).",
    ),
]


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise typer.BadParameter(f"expected FILE=VALUE, got {value!r}", param_hint=option)
        out[name] = rest
    return out


@models_app.command("list")
def list_models(models_dir: ModelsDirOption = None) -> None:
    """Show each model, the task types using it, and whether its files are present."""
    console = Console()
    table = Table("model", "task types", "status", "files", "checksum", "licence")
    lock = read_lock(data_dir_from_env() / "models")
    for model in MODELS.values():
        statuses = model_status(model, models_dir=models_dir)
        have = sum(1 for s in statuses if s.path is not None)
        state = "present" if have == len(statuses) else f"missing ({have}/{len(statuses)} files)"
        files = "\n".join(f"{s.name}: {s.path or '-'}" for s in statuses)
        checks: list[str] = []
        for f in model.files:
            entry = lock.get(lock_key(model.name, f.name))
            if f.sha256 is not None:
                checks.append("pinned")
            elif entry is not None:
                checks.append(f"locked {entry.locked_at}")
            else:
                checks.append("unverified")
        table.add_row(
            model.name, ", ".join(model.task_types), state, files, "\n".join(checks), model.license
        )
    console.print(table)
    roots = ", ".join(str(p) for p in model_search_dirs(data_dir_from_env(), models_dir))
    console.print(f"searched: {roots}, then installed packages")


@models_app.command("pull")
def pull(
    name: Annotated[str, typer.Argument(help="Model name, as in `cl-server models list`.")],
    dest: Annotated[
        Path | None,
        typer.Option(help="Install under DEST/<name>/ (default: <data dir>/models)."),
    ] = None,
    sha256: Annotated[
        list[str] | None,
        typer.Option("--sha256", help="FILE=HEX checksum overriding the pinned/locked one."),
    ] = None,
    url: Annotated[
        list[str] | None, typer.Option("--url", help="FILE=URL to download a file from elsewhere.")
    ] = None,
) -> None:
    """Download a model (hub or URL), verify SHA-256 and install it atomically."""
    console = Console()
    try:
        model = get_model(name)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    root = dest if dest is not None else data_dir_from_env() / "models"
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(file_name: str, done: int, total: int | None) -> None:
            if file_name not in tasks:
                tasks[file_name] = progress.add_task(file_name, total=total)
            progress.update(tasks[file_name], completed=done, total=total)

        try:
            result = pull_model(
                model,
                root,
                sha256_overrides=_pairs(sha256 or [], "--sha256"),
                url_overrides=_pairs(url or [], "--url"),
                on_progress=on_progress,
            )
        except PullError as exc:
            progress.stop()
            console.print(f"[red]pull failed:[/red] {exc}")
            raise typer.Exit(1) from None
    for file_name in result.already_present:
        console.print(f"{file_name}: already present and verified")
    console.print(f"{model.name}: installed in {result.model_dir}")


@models_app.command("verify")
def verify(
    name: Annotated[
        str | None, typer.Argument(help="Model name; all models when left out.")
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Option(help="Models root to check (default: <data dir>/models)."),
    ] = None,
) -> None:
    """Check installed files against their pinned or locked (trust on first use) SHA-256."""
    console = Console()
    try:
        models: list[ModelInfo] = [get_model(name)] if name else list(MODELS.values())
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    root = dest if dest is not None else data_dir_from_env() / "models"
    bad = False
    for model in models:
        for r in verify_model(model, root):
            if r.state == "mismatch":
                bad = True
                console.print(f"{model.name}/{r.name}: [red]SHA-256 mismatch[/red] ({r.detail})")
            elif r.state != "missing" or name:
                console.print(f"{model.name}/{r.name}: {r.state}")
    if bad:
        raise typer.Exit(1)
