"""``cl-server user ...``: local admin tasks run directly against the auth database.

Settings come from the environment (``CL_SERVER_DIR``, ``CL_AUTH_DATABASE_URL``), like the
service's, so these commands act on the database the service uses. The schema is migrated first,
so they also work before the service has ever started.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cl_client.cli.common import CliError
from cl_client.cli.passwords import PasswordStdinOpt, resolve_password
from cl_server.auth.db import create_auth_engine
from cl_server.auth.errors import PasswordTooLongError, UsernameTakenError, UserNotFoundError
from cl_server.auth.forms import parse_permissions
from cl_server.auth.migrate import upgrade_to_head
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.schemas import CREATED_AT_FORMAT
from cl_server.auth.users import UserChanges, UserRecord, UserStore
from cl_server.settings import AuthSettings

user_app = typer.Typer(
    name="user",
    help="Manage auth users directly in the auth database.",
    no_args_is_help=True,
)


@contextmanager
def _open_store() -> Generator[UserStore]:
    settings = AuthSettings()
    engine = create_auth_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
        yield UserStore(engine)
    finally:
        engine.dispose()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=1)


def _find(store: UserStore, name: str) -> UserRecord:
    user = store.get_by_username(name)
    if user is None:
        raise _fail(f"no user named {name!r}")
    return user


def _hash(password: str) -> str:
    if not password:
        raise _fail("the password must not be empty")
    try:
        return PasswordHasher().hash(password)
    except PasswordTooLongError as exc:
        raise _fail(str(exc)) from exc


PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        "-p",
        help="Asked for (hidden, twice) when not given and stdin is a terminal; "
        "--password-stdin keeps it out of argv and shell history.",
    ),
]


def _password(given: str | None, from_stdin: bool) -> str:
    try:
        return resolve_password(
            given, from_stdin=from_stdin, hint="--password-stdin or --password", confirm=True
        )
    except CliError as exc:
        raise _fail(str(exc)) from exc


@user_app.command("list")
def list_users() -> None:
    """List all users, ordered by id."""
    with _open_store() as store:
        users = store.list_users(skip=0, limit=2**31 - 1)
    table = Table("id", "username", "admin", "active", "permissions", "created_at")
    for user in users:
        table.add_row(
            str(user.id),
            user.username,
            "yes" if user.is_admin else "no",
            "yes" if user.is_active else "no",
            ",".join(user.permissions),
            user.created_at.strftime(CREATED_AT_FORMAT),
        )
    Console(width=200).print(table)


@user_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="Username.")],
    password: PasswordOption = None,
    password_stdin: PasswordStdinOpt = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    permissions: Annotated[
        str, typer.Option("--permissions", help="Comma-separated permission strings.")
    ] = "",
) -> None:
    """Create an active user."""
    password_hash = _hash(_password(password, password_stdin))
    with _open_store() as store:
        try:
            user = store.create(
                username=name,
                password_hash=password_hash,
                is_admin=admin,
                permissions=parse_permissions(permissions),
            )
        except UsernameTakenError as exc:
            raise _fail(f"user {name!r} already exists") from exc
    typer.echo(f"Created user {user.username!r} (id {user.id})")


@user_app.command("set-password")
def set_password(
    name: Annotated[str, typer.Argument(help="Username.")],
    password: PasswordOption = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Set a user's password."""
    password_hash = _hash(_password(password, password_stdin))
    with _open_store() as store:
        user = _find(store, name)
        try:
            store.update(user.id, UserChanges(password_hash=password_hash))
        except UserNotFoundError as exc:
            raise _fail(f"no user named {name!r}") from exc
    typer.echo(f"Password of {name!r} changed")


@user_app.command("delete")
def delete_user(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Delete a user; their tokens stop working at once."""
    with _open_store() as store:
        user = _find(store, name)
        try:
            store.delete(user.id)
        except UserNotFoundError as exc:
            raise _fail(f"no user named {name!r}") from exc
    typer.echo(f"Deleted user {name!r}")
