"""Passwords for the CLIs without putting them in argv or shell history.

A command that needs a password takes it, in this order, from ``--password-stdin`` (the first
line of standard input), ``--password``/an environment variable, or a hidden prompt when
standard input is a terminal; anything else is a clear error, never a hang on a pipe.
``--password`` stays for scripts, but an environment variable is better: other local users see
a command line in ``ps``, and shells keep it in their history.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cl_client.cli.common import CliError, CliState, fail

PasswordStdinOpt = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (keeps it out of argv).",
    ),
]


def stdin_is_interactive() -> bool:
    """Whether a person can answer a prompt (a function so tests can pretend one can)."""
    stdin = sys.stdin
    return stdin is not None and stdin.isatty()


def read_stdin_password(what: str = "password") -> str:
    """One line of standard input without its line ending; empty input is an error."""
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise CliError(f"--password-stdin: no {what} on standard input", exit_code=2)
    return password


def resolve_password(
    given: str | None,
    *,
    from_stdin: bool,
    what: str = "password",
    hint: str = "--password-stdin",
    confirm: bool = False,
) -> str:
    """The password from stdin, ``given`` (an option or environment variable), or a prompt.

    ``--password-stdin`` wins over ``given``, so an environment variable set for other
    commands does not get in its way. ``hint`` names the non-interactive ways to give it.
    """
    if from_stdin:
        return read_stdin_password(what)
    if given is not None:
        return given
    if not stdin_is_interactive():
        raise CliError(
            f"no {what} given and standard input is not a terminal to ask on: use {hint}",
            exit_code=2,
        )
    password: str = typer.prompt(what.capitalize(), hide_input=True, confirmation_prompt=confirm)
    if not password:
        raise CliError(f"the {what} must not be empty", exit_code=2)
    return password


def stdin_password_or_fail(state: CliState, what: str = "password") -> str:
    """``read_stdin_password(what)``, or the error printed through ``fail`` (its exit code)."""
    try:
        return read_stdin_password(what)
    except CliError as exc:
        fail(state, str(exc), exc.exit_code)


def new_password_or_fail(state: CliState, given: str | None, *, from_stdin: bool, what: str) -> str:
    """A new user's password (``resolve_password`` asking twice), or the error through ``fail``."""
    try:
        return resolve_password(given, from_stdin=from_stdin, what=what, confirm=True)
    except CliError as exc:
        fail(state, str(exc), exc.exit_code)


def warn_password_in_argv() -> None:
    """Say once that a password given as an argument is visible to others (still accepted)."""
    typer.echo(
        "Warning: a password on the command line shows in `ps` and shell history; "
        "leave it out to be asked, or use --password-stdin.",
        err=True,
    )
