"""Shared plumbing of ``cl-client`` and ``cl-admin``: options state, clients, output, errors."""

from __future__ import annotations

import asyncio
import glob
import json
import sys
from collections.abc import AsyncGenerator, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from pydantic import BaseModel

from cl_client.auth import AuthProvider, NoAuthProvider
from cl_client.cli.reattach import PendingJobs, reattach_lines
from cl_client.compute_client import ComputeClient
from cl_client.exceptions import (
    ForbiddenError,
    InvalidRequestError,
    JobNotFoundError,
    JobTimeoutError,
    NotFoundError,
    ServerHTTPError,
    ServerUnreachableError,
    UnauthorizedError,
    WorkerUnavailableError,
)
from cl_client.mqtt_monitor import MQTTJobMonitor
from cl_client.server_config import (
    DEFAULT_AUTH_URL,
    DEFAULT_COMPUTE_URL,
    DEFAULT_MQTT_HOST,
    DEFAULT_MQTT_PORT,
    DEFAULT_STORE_URL,
    ENV_NAMES,
    ServerConfig,
)
from cl_client.session_manager import SessionManager


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1 (or ``exit_code``).

    ``details`` are extra keys of the ``--json`` error object (e.g. the ids of running jobs);
    ``hints`` are lines printed after the error in human mode.
    """

    def __init__(
        self,
        message: str,
        exit_code: int = 1,
        details: Mapping[str, object] | None = None,
        hints: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.exit_code: int = exit_code
        self.details: dict[str, object] = dict(details or {})
        self.hints: list[str] = list(hints)


# Service URL options, the same in ``cl-client`` and ``cl-admin``. They read the environment
# variables of the SDK's ``ServerConfig`` (``CL_AUTH_URL``, then the older ``AUTH_URL``; ...).
AuthUrlOpt = Annotated[
    str,
    typer.Option("--auth-url", envvar=list(ENV_NAMES["auth_url"]), help="Auth service URL."),
]
ComputeUrlOpt = Annotated[
    str,
    typer.Option(
        "--compute-url", envvar=list(ENV_NAMES["compute_url"]), help="Compute service URL."
    ),
]
StoreUrlOpt = Annotated[
    str,
    typer.Option("--store-url", envvar=list(ENV_NAMES["store_url"]), help="Store service URL."),
]
MqttHostOpt = Annotated[
    str,
    typer.Option(
        "--mqtt-host",
        "--mqtt-broker",
        envvar=list(ENV_NAMES["mqtt_broker"]),
        help="MQTT broker host.",
    ),
]
MqttPortOpt = Annotated[
    int, typer.Option("--mqtt-port", envvar=list(ENV_NAMES["mqtt_port"]), help="MQTT port.")
]


def root_app(name: str, help_text: str) -> typer.Typer:
    """The root app of a console script: help when run bare, no completion options."""
    return typer.Typer(
        name=name,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


@dataclass
class CliState:
    """Global options of ``cl-client`` (``cl-admin`` uses the fields it has options for)."""

    username: str | None = None
    password: str | None = None
    auth_url: str = DEFAULT_AUTH_URL
    compute_url: str = DEFAULT_COMPUTE_URL
    store_url: str = DEFAULT_STORE_URL
    mqtt_broker: str = DEFAULT_MQTT_HOST
    mqtt_port: int = DEFAULT_MQTT_PORT
    no_auth: bool = False
    json_output: bool = False
    #: Jobs the running command follows that have not ended (for Ctrl-C and lost servers).
    pending: PendingJobs = field(default_factory=PendingJobs, compare=False, repr=False)

    @property
    def server_config(self) -> ServerConfig:
        return ServerConfig(
            auth_url=self.auth_url,
            compute_url=self.compute_url,
            store_url=self.store_url,
            mqtt_broker=self.mqtt_broker,
            mqtt_port=self.mqtt_port,
        )

    @property
    def uses_credentials(self) -> bool:
        return not self.no_auth and bool(self.username)


def get_state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` stored by the root callback (a default one when absent)."""
    root = ctx.find_root()
    obj: object = root.obj
    if isinstance(obj, CliState):
        return obj
    state = CliState()
    root.obj = state
    return state


# ---------------------------------------------------------------------- clients


def login_failed(state: CliState, exc: UnauthorizedError) -> CliError:
    """The error for credentials the auth service rejected."""
    return CliError(f"login failed for user {state.username!r} at {state.auth_url}: {exc.detail}")


def ensure_password(state: CliState) -> str:
    """The login password: the global option, env or stdin line, else a hidden prompt (TTY)."""
    if state.password is None:
        from cl_client.cli.passwords import resolve_password  # it imports this module

        state.password = resolve_password(
            None,
            from_stdin=False,
            what=f"password for {state.username}",
            hint="CL_PASSWORD, --password-stdin or --password",
        )
    return state.password


@asynccontextmanager
async def logged_in_session(state: CliState) -> AsyncGenerator[SessionManager]:
    """A session logged in with the global credentials (error when there are none)."""
    if not state.username:
        raise CliError("this command needs --username and --password (or CL_USERNAME/CL_PASSWORD)")
    password = ensure_password(state)
    async with SessionManager(server_config=state.server_config) as session:
        try:
            await session.login(state.username, password)
        except UnauthorizedError as exc:
            raise login_failed(state, exc) from exc
        yield session


@asynccontextmanager
async def compute_client(state: CliState, *, mqtt: bool) -> AsyncGenerator[ComputeClient]:
    """A compute client for the global options.

    ``mqtt=False`` skips the broker (commands that never wait on a job), so they neither wait
    for a connection nor warn about a missing broker.
    """
    monitor = None if mqtt else MQTTJobMonitor(state.mqtt_broker, state.mqtt_port, connect=False)

    def build(provider: AuthProvider) -> ComputeClient:
        return ComputeClient(
            base_url=state.compute_url,
            mqtt_broker=state.mqtt_broker,
            mqtt_port=state.mqtt_port,
            auth_provider=provider,
            server_config=state.server_config,
            mqtt_monitor=monitor,
        )

    if state.uses_credentials:
        async with logged_in_session(state) as session, build(session.auth_provider()) as client:
            yield client
    else:
        async with build(NoAuthProvider()) as client:
            yield client


# ---------------------------------------------------------------------- output


def to_jsonable(value: object) -> object:
    """Pydantic models and paths to plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def print_json(value: object, *, compact: bool = False) -> None:
    text = json.dumps(to_jsonable(value), indent=None if compact else 2, ensure_ascii=False)
    typer.echo(text)


def describe_error(exc: BaseException) -> str:
    """One readable line for an exception the CLI expects to see."""
    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, ServerUnreachableError):
        return f"cannot reach {exc.url} (is the server running?): {_cause(exc)}"
    if isinstance(exc, UnauthorizedError):
        return f"authentication failed ({exc.status_code}): {exc.detail}"
    if isinstance(exc, ForbiddenError):
        return f"permission denied ({exc.status_code}): {exc.detail}"
    if isinstance(exc, JobNotFoundError):
        return f"job {exc.job_id} not found"
    if isinstance(exc, NotFoundError):
        return f"not found: {exc.detail}"
    if isinstance(exc, InvalidRequestError):
        return f"request rejected ({exc.status_code}): {exc.detail}"
    if isinstance(exc, ServerHTTPError):
        return f"server error ({exc.status_code}): {exc.detail}"
    if isinstance(exc, httpx.TimeoutException):
        return f"request timed out: {exc}"
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP error: {exc}"
    if isinstance(exc, WorkerUnavailableError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename or exc}"
    return str(exc) or type(exc).__name__


def too_old(exc: ServerHTTPError, what: str) -> CliError | None:
    """The error for a compute service that predates an endpoint, else None.

    Such a server answers with 405, or 404 with the framework's bare ``Not Found`` (a missing
    job says ``Job <id> not found``).
    """
    if exc.status_code == 405 or (exc.status_code == 404 and exc.detail == "Not Found"):
        return CliError(f"this compute service cannot {what} (it predates that API; upgrade it)")
    return None


def _cause(exc: BaseException) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text


def report_deleted(json_output: bool, noun: str, ident: object) -> None:
    """Confirm a deletion: ``{"deleted": <id>, "status": "ok"}`` or ``Deleted <noun> <id>``."""
    if json_output:
        print_json({"deleted": ident, "status": "ok"}, compact=True)
    else:
        typer.echo(f"Deleted {noun} {ident}")


def fail(
    state: CliState,
    message: str,
    exit_code: int = 1,
    details: Mapping[str, object] | None = None,
    *,
    status: str = "failed",
    hints: Sequence[str] = (),
) -> NoReturn:
    """Print one error line and its hints (JSON with ``--json``, plus ``details``) and exit."""
    if state.json_output:
        print_json({"error": message, "status": status, **(details or {})}, compact=True)
    else:
        typer.echo(f"Error: {message}", err=True)
        for hint in hints:
            typer.echo(hint, err=True)
    raise typer.Exit(exit_code)


def stdout_is_terminal() -> bool:
    """Whether a person reads stdout (not a pipe or file); decides human vs. JSON results."""
    return sys.stdout.isatty()


def _interrupted(state: CliState) -> NoReturn:
    """Ctrl-C: only the watching stops; say which jobs go on and how to follow them again."""
    ids = state.pending.ids
    if state.json_output:
        fail(state, "interrupted", 130, {"job_ids": ids}, status="interrupted")
    typer.echo("Interrupted", err=True)
    for line in reattach_lines(state.compute_url, ids):
        typer.echo(line, err=True)
    raise typer.Exit(130)


_EXPECTED = (
    CliError,
    httpx.HTTPError,
    TimeoutError,
    OSError,
    ValueError,
    WorkerUnavailableError,
)


def run(state: CliState, coro: Coroutine[Any, Any, int | None]) -> None:
    """Run a command coroutine; map expected failures to one line and an exit status."""
    try:
        code = asyncio.run(coro)
    except KeyboardInterrupt:
        _interrupted(state)
    except _EXPECTED as exc:
        if isinstance(exc, CliError):
            fail(state, describe_error(exc), exc.exit_code, exc.details, hints=exc.hints)
        if isinstance(exc, JobTimeoutError) and state.pending:
            # Giving up waiting does not stop the job: tell how to follow it further.
            ids = state.pending.ids
            hints = reattach_lines(state.compute_url, ids)
            fail(state, describe_error(exc), 1, {"job_ids": ids}, hints=hints)
        fail(state, describe_error(exc))
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------------- inputs

_GLOB_CHARS = frozenset("*?[")


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    """Paths and glob patterns (``photos/*.jpg``, ``**/*.png``) to a de-duplicated file list."""
    found: list[Path] = []
    seen: set[Path] = set()
    for pattern in patterns:
        path = Path(pattern)
        if path.is_file():
            matches = [path]
        elif _GLOB_CHARS & set(pattern):
            # glob.glob, not Path.glob: user patterns may be absolute (/data/**/*.jpg).
            matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]  # noqa: PTH207
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise CliError(f"no files match {pattern!r}")
        elif path.is_dir():
            raise CliError(f"{pattern} is a directory; pass files or a glob such as {pattern}/*")
        else:
            raise CliError(f"file not found: {pattern}")
        for match in matches:
            key = match.resolve()
            if key not in seen:
                seen.add(key)
                found.append(match)
    return found
