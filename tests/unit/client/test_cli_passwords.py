"""Passwords stay out of argv (issue 11, point 5): hidden prompts on a terminal,
``--password-stdin`` and clear errors otherwise, for ``cl-client`` and ``cl-admin``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cl_client.auth_client import AuthClient
from cl_client.cli import admin, common, passwords
from cl_client.cli.main import app
from cl_client.session_manager import SessionManager
from tests.unit.client.sdk_fakes import FakeAuthServer

runner = CliRunner()


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> FakeAuthServer:
    server = FakeAuthServer()

    def build(server_config: Any) -> SessionManager:
        client = AuthClient(server_config.auth_url, transport=server.transport())
        return SessionManager(server_config=server_config, auth_client=client)

    monkeypatch.setattr(common, "SessionManager", build)
    monkeypatch.setattr(
        admin, "AuthClient", lambda url: AuthClient(url, transport=server.transport())
    )
    return server


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a person sits at stdin (CliRunner's stdin is never a TTY)."""
    monkeypatch.setattr(passwords, "stdin_is_interactive", lambda: True)


def client(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), input=stdin, env=env)


def cl_admin(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(admin.app, ["--auth-url", "http://auth.test", *args], input=stdin)


# --- cl-client --------------------------------------------------------------------------------


def test_login_password_from_stdin(auth: FakeAuthServer) -> None:
    result = client("--username", "admin", "--password-stdin", "user", "list", stdin="secret\n")
    assert result.exit_code == 0, result.output
    assert "admin" in result.stdout


def test_password_stdin_wins_over_the_environment(auth: FakeAuthServer) -> None:
    result = client(
        "--username", "admin", "--password-stdin", "user", "list",
        stdin="secret\n", env={"CL_PASSWORD": "wrong"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_login_password_from_env(auth: FakeAuthServer) -> None:
    result = client("--username", "admin", "user", "list", env={"CL_PASSWORD": "secret"})
    assert result.exit_code == 0, result.output


def test_login_password_is_prompted_hidden_on_a_terminal(
    auth: FakeAuthServer, terminal: None
) -> None:
    result = client("--username", "admin", "user", "list", stdin="secret\n")
    assert result.exit_code == 0, result.output
    assert "Password for admin" in result.output
    assert "secret" not in result.output  # hidden input is not echoed


def test_no_password_and_no_terminal_is_a_clear_error(auth: FakeAuthServer) -> None:
    result = client("--username", "admin", "user", "list", stdin="secret\n")
    assert result.exit_code == 2
    assert "not a terminal" in result.stderr and "--password-stdin" in result.stderr
    assert [r.url.path for r in auth.requests] == []  # nothing was sent
    result = client("--json", "--username", "admin", "user", "list")
    assert result.exit_code == 2 and "CL_PASSWORD" in json.loads(result.stdout)["error"]


def test_empty_stdin_is_an_error(auth: FakeAuthServer) -> None:
    result = client("--username", "admin", "--password-stdin", "user", "list", stdin="")
    assert result.exit_code == 2 and "no password on standard input" in result.stderr


def test_user_create_asks_twice_instead_of_taking_a_positional(
    auth: FakeAuthServer, terminal: None
) -> None:
    result = client(
        "--username", "admin", "--password", "secret", "user", "create", "bob",
        stdin="pw-bob\npw-bob\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"username": "bob"' in result.stdout
    assert auth.passwords["bob"] == "pw-bob"
    assert "Warning" not in result.stderr


def test_user_create_from_stdin_after_the_login_password(auth: FakeAuthServer) -> None:
    # Each --password-stdin reads one line: the global (login) one first.
    result = client(
        "--username", "admin", "--password-stdin", "user", "create", "carl", "--password-stdin",
        stdin="secret\npw carl\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert auth.passwords["carl"] == "pw carl"


def test_user_create_positional_password_still_works_with_a_warning(
    auth: FakeAuthServer,
) -> None:
    result = client("--username", "admin", "--password", "secret", "user", "create", "dan", "pw")
    assert result.exit_code == 0, result.output
    assert auth.passwords["dan"] == "pw"
    assert "shell history" in result.stderr


def test_user_create_without_password_or_terminal_fails_before_login(
    auth: FakeAuthServer,
) -> None:
    result = client("--username", "admin", "--password", "secret", "user", "create", "eve")
    assert result.exit_code == 2 and "not a terminal" in result.stderr
    assert auth.requests == []


def test_user_update_password_from_stdin(auth: FakeAuthServer) -> None:
    created = client("--username", "admin", "--password", "secret", "user", "create", "fred", "x")
    user_id = str(json.loads(created.stdout)["id"])
    result = client(
        "--username", "admin", "--password", "secret", "user", "update", user_id,
        "--password-stdin", stdin="new-pw\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert auth.passwords["fred"] == "new-pw"


# --- cl-admin ---------------------------------------------------------------------------------


def test_admin_login_and_new_user_from_stdin(auth: FakeAuthServer) -> None:
    result = cl_admin(
        "--username", "admin", "--password-stdin", "users", "create", "gail", "--password-stdin",
        stdin="secret\npw-gail\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert auth.passwords["gail"] == "pw-gail"


def test_admin_prompts_on_a_terminal(auth: FakeAuthServer, terminal: None) -> None:
    # The new user's password (twice) is asked before logging in.
    result = cl_admin("--username", "admin", "users", "create", "hal", stdin="pw\npw\nsecret\n")
    assert result.exit_code == 0, result.output
    assert auth.passwords["hal"] == "pw"
    assert "secret" not in result.output


def test_admin_without_terminal_is_a_clear_error(auth: FakeAuthServer) -> None:
    result = cl_admin("--username", "admin", "users", "list")
    assert result.exit_code == 2 and "not a terminal" in result.stderr
    result = cl_admin("--username", "admin", "--password", "secret", "users", "create", "ida")
    assert result.exit_code == 2 and "not a terminal" in result.stderr
    assert "ida" not in auth.passwords


def test_admin_update_password_from_stdin(auth: FakeAuthServer) -> None:
    creds = ["--username", "admin", "--password", "secret"]
    assert cl_admin(*creds, "users", "create", "jo", "--password", "a").exit_code == 0
    result = cl_admin(*creds, "users", "update", "jo", "--password-stdin", stdin="b\n")
    assert result.exit_code == 0, result.output
    assert auth.passwords["jo"] == "b"
