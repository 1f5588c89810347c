"""``cl-admin``: user administration by name and guest-mode switches (PROTOCOL.md §7.11)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated

import httpx
import typer

from cl_client.auth_client import AuthClient
from cl_client.auth_models import UserCreateRequest, UserResponse, UserUpdateRequest
from cl_client.cli.common import (
    DEFAULT_AUTH_URL,
    DEFAULT_COMPUTE_URL,
    DEFAULT_STORE_URL,
    AuthUrlOpt,
    CliError,
    CliState,
    ComputeUrlOpt,
    StoreUrlOpt,
    ensure_password,
    login_failed,
    print_json,
    report_deleted,
    root_app,
    run,
)
from cl_client.cli.passwords import PasswordStdinOpt, new_password_or_fail, stdin_password_or_fail
from cl_client.cli.users import print_users
from cl_client.exceptions import ServerUnreachableError, UnauthorizedError, raise_for_status

app = root_app("cl-admin", "Administer CL Server: users and guest mode.")
users_app = typer.Typer(help="Manage users by name.", no_args_is_help=True)
config_app = typer.Typer(help="Read and switch guest mode of a service.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(config_app, name="config")


def _state(ctx: typer.Context) -> CliState:
    """The global options; ``cl-admin`` keeps them in the same state object as ``cl-client``."""
    obj: object = ctx.find_root().obj
    if not isinstance(obj, CliState):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("cl-admin state missing")
    return obj


@app.callback()
def admin_options(
    ctx: typer.Context,
    auth_url: AuthUrlOpt = DEFAULT_AUTH_URL,
    username: Annotated[
        str | None, typer.Option("--username", envvar="CL_USERNAME", help="Admin user.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="CL_PASSWORD",
            help="Admin password; CL_PASSWORD or --password-stdin keep it out of argv. "
            "Asked for when none is given and stdin is a terminal.",
        ),
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Global options go before the sub-command."""
    state = CliState(
        auth_url=auth_url, username=username, password=password, json_output=json_output
    )
    ctx.obj = state
    if password_stdin:
        state.password = stdin_password_or_fail(state)


@asynccontextmanager
async def _admin_token(state: CliState) -> AsyncGenerator[tuple[AuthClient, str]]:
    if not state.username:
        raise CliError("cl-admin needs --username and --password (or CL_USERNAME/CL_PASSWORD)")
    password = ensure_password(state)
    async with AuthClient(state.auth_url) as client:
        try:
            token = await client.login(state.username, password)
        except UnauthorizedError as exc:
            raise login_failed(state, exc) from exc
        yield client, token.access_token


async def _user_by_name(client: AuthClient, token: str, name: str) -> UserResponse:
    user = await client.get_user_by_name(token, name)
    if user is None:
        raise CliError(f"no user named {name!r}")
    return user


def _parse_permissions(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [p.strip() for p in text.split(",") if p.strip()]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise typer.BadParameter(f"expected true or false, got {text!r}")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List users."""
    state = _state(ctx)

    async def go() -> None:
        async with _admin_token(state) as (client, token):
            print_users(state, await client.list_users(token))

    run(state, go())


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    name: str,
    password: Annotated[
        str | None,
        typer.Option("--password", help="The new user's password (asked for when left out)."),
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    permissions: Annotated[
        str | None, typer.Option("--permissions", help="Comma-separated permissions.")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
) -> None:
    """Create a user."""
    state = _state(ctx)
    new_password = new_password_or_fail(
        state, password, from_stdin=password_stdin, what=f"password for {name}"
    )
    request = UserCreateRequest(
        username=name,
        password=new_password,
        is_admin=admin,
        permissions=_parse_permissions(permissions) or [],
    )

    async def go() -> None:
        async with _admin_token(state) as (client, token):
            print_json(await client.create_user(token, request))

    run(state, go())


@users_app.command("update")
def users_update(
    ctx: typer.Context,
    name: str,
    password: Annotated[str | None, typer.Option("--password")] = None,
    password_stdin: PasswordStdinOpt = False,
    permissions: Annotated[
        str | None, typer.Option("--permissions", help="Comma-separated; replaces the list.")
    ] = None,
    admin: Annotated[str | None, typer.Option("--admin", help="true or false.")] = None,
) -> None:
    """Change a user's password, permissions or admin flag."""
    state = _state(ctx)
    if password_stdin:
        password = stdin_password_or_fail(state, f"new password for {name}")
    request = UserUpdateRequest(
        password=password,
        permissions=_parse_permissions(permissions),
        is_admin=_parse_bool(admin) if admin is not None else None,
    )

    async def go() -> None:
        async with _admin_token(state) as (client, token):
            user = await _user_by_name(client, token, name)
            print_json(await client.update_user(token, user.id, request))

    run(state, go())


@users_app.command("delete")
def users_delete(ctx: typer.Context, name: str) -> None:
    """Delete a user."""
    state = _state(ctx)

    async def go() -> None:
        async with _admin_token(state) as (client, token):
            user = await _user_by_name(client, token, name)
            await client.delete_user(token, user.id)
        report_deleted(state.json_output, "user", name)

    run(state, go())


class Service(StrEnum):
    store = "store"
    compute = "compute"


class Switch(StrEnum):
    on = "on"
    off = "off"


@config_app.callback()
def config_options(
    ctx: typer.Context,
    store_url: StoreUrlOpt = DEFAULT_STORE_URL,
    compute_url: ComputeUrlOpt = DEFAULT_COMPUTE_URL,
) -> None:
    state = _state(ctx)
    state.store_url = store_url
    state.compute_url = compute_url


def _service_url(state: CliState, service: Service) -> str:
    return (state.store_url if service is Service.store else state.compute_url).rstrip("/")


def service_session(base_url: str) -> httpx.AsyncClient:
    """HTTP client for a service root (a function so tests can substitute a transport)."""
    return httpx.AsyncClient(base_url=base_url, timeout=30.0)


async def _service_request(
    base_url: str, method: str, path: str, **kwargs: object
) -> httpx.Response:
    async with service_session(base_url) as session:
        try:
            response = await session.request(method, path, **kwargs)  # pyright: ignore[reportArgumentType]
        except httpx.ConnectError as exc:
            raise ServerUnreachableError.from_connect_error(base_url, exc) from exc
    raise_for_status(response)
    return response


@config_app.command("get-guest-mode")
def get_guest_mode(
    ctx: typer.Context,
    service: Annotated[Service, typer.Option("--service", help="store or compute.")],
) -> None:
    """Print ``on`` or ``off``: whether the service accepts unauthenticated requests."""
    state = _state(ctx)

    async def go() -> None:
        url = _service_url(state, service)
        body: object = (await _service_request(url, "GET", "/")).json()
        mode = body.get("guestMode") if isinstance(body, dict) else None  # pyright: ignore[reportUnknownMemberType]
        if not isinstance(mode, str):
            raise CliError(f"{url}/ does not report guestMode")
        if state.json_output:
            print_json({"service": service.value, "guest_mode": mode}, compact=True)
        else:
            typer.echo(mode)

    run(state, go())


@config_app.command("set-guest-mode")
def set_guest_mode(
    ctx: typer.Context,
    service: Annotated[Service, typer.Argument(help="store or compute.")],
    mode: Annotated[Switch, typer.Argument(help="on or off.")],
) -> None:
    """Switch guest mode (admin): ``PUT <service>/admin/config/guest-mode``."""
    state = _state(ctx)

    async def go() -> None:
        async with _admin_token(state) as (_client, token):
            url = _service_url(state, service)
            await _service_request(
                url,
                "PUT",
                "/admin/config/guest-mode",
                data={"guest_mode": "true" if mode is Switch.on else "false"},
                headers={"Authorization": f"Bearer {token}"},
            )
        if state.json_output:
            print_json({"service": service.value, "guest_mode": mode.value}, compact=True)
        else:
            typer.echo(f"Guest mode of {service.value} is now {mode.value}")

    run(state, go())


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
