"""``cl-client user ...``: user administration through the auth service (admin token)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cl_client.auth_models import UserCreateRequest, UserResponse, UserUpdateRequest
from cl_client.cli.common import (
    CliState,
    get_state,
    logged_in_session,
    print_json,
    report_deleted,
    run,
)
from cl_client.cli.passwords import (
    PasswordStdinOpt,
    new_password_or_fail,
    stdin_password_or_fail,
    warn_password_in_argv,
)

user_app = typer.Typer(help="Manage users (needs admin credentials).", no_args_is_help=True)

PermissionsOpt = Annotated[
    list[str] | None,
    typer.Option("--permissions", "-p", help="Permission string; repeat for several."),
]


def print_users(state: CliState, users: list[UserResponse]) -> None:
    if state.json_output:
        print_json(users)
        return
    table = Table("id", "username", "admin", "active", "permissions", "created")
    for user in users:
        table.add_row(
            str(user.id),
            user.username,
            "yes" if user.is_admin else "no",
            "yes" if user.is_active else "no",
            ",".join(user.permissions),
            user.created_at.isoformat(timespec="seconds"),
        )
    Console().print(table)


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: str,
    password: Annotated[
        str | None,
        typer.Argument(
            help="Deprecated (visible in ps and shell history): leave it out to be asked, "
            "or use --password-stdin.",
            show_default=False,
        ),
    ] = None,
    password_stdin: PasswordStdinOpt = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    permissions: PermissionsOpt = None,
) -> None:
    """Create a user; the password is asked for (twice, hidden) unless given otherwise."""
    state = get_state(ctx)
    if password is not None and not password_stdin:
        warn_password_in_argv()
    new_password = new_password_or_fail(
        state, password, from_stdin=password_stdin, what=f"password for {username}"
    )

    async def go() -> None:
        async with logged_in_session(state) as session:
            request = UserCreateRequest(
                username=username,
                password=new_password,
                is_admin=admin,
                permissions=list(permissions or []),
            )
            print_json(await session.auth_client.create_user(session.get_token(), request))

    run(state, go())


@user_app.command("list")
def user_list(
    ctx: typer.Context,
    skip: Annotated[int, typer.Option("--skip", min=0)] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
) -> None:
    """List users."""
    state = get_state(ctx)

    async def go() -> None:
        async with logged_in_session(state) as session:
            users = await session.auth_client.list_users(session.get_token(), skip, limit)
            print_users(state, users)

    run(state, go())


@user_app.command("get")
def user_get(ctx: typer.Context, user_id: int) -> None:
    """Show one user."""
    state = get_state(ctx)

    async def go() -> None:
        async with logged_in_session(state) as session:
            print_json(await session.auth_client.get_user(session.get_token(), user_id))

    run(state, go())


@user_app.command("update")
def user_update(
    ctx: typer.Context,
    user_id: int,
    password: Annotated[str | None, typer.Option("--password")] = None,
    password_stdin: PasswordStdinOpt = False,
    admin: Annotated[bool | None, typer.Option("--admin/--no-admin")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    permissions: PermissionsOpt = None,
) -> None:
    """Change a user; -p replaces the whole permission list."""
    state = get_state(ctx)
    if password_stdin:
        password = stdin_password_or_fail(state, f"new password for user {user_id}")
    request = UserUpdateRequest(
        password=password,
        permissions=list(permissions) if permissions is not None else None,
        is_active=active,
        is_admin=admin,
    )

    async def go() -> None:
        async with logged_in_session(state) as session:
            token = session.get_token()
            print_json(await session.auth_client.update_user(token, user_id, request))

    run(state, go())


@user_app.command("delete")
def user_delete(
    ctx: typer.Context,
    user_id: int,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a user."""
    state = get_state(ctx)
    if not yes:
        typer.confirm(f"Delete user {user_id}?", abort=True)

    async def go() -> None:
        async with logged_in_session(state) as session:
            await session.auth_client.delete_user(session.get_token(), user_id)
        report_deleted(state.json_output, "user", user_id)

    run(state, go())
