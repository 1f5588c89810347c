"""``cl-server user ...`` commands against a data directory from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cl_client.cli import passwords
from cl_server.auth import cli
from cl_server.auth.cli import user_app
from cl_server.auth.db import create_auth_engine
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.users import UserRecord, UserStore

RUNNER = CliRunner()
HASHER = PasswordHasher(rounds=4)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # bcrypt's minimum cost keeps the test fast; the commands use the default cost otherwise.
    monkeypatch.setattr(cli, "PasswordHasher", lambda: HASHER)
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path))
    monkeypatch.delenv("CL_AUTH_DATABASE_URL", raising=False)
    return tmp_path


def _find_user(data_dir: Path, username: str) -> UserRecord | None:
    engine = create_auth_engine(f"sqlite:///{data_dir / 'auth.db'}")
    try:
        return UserStore(engine).get_by_username(username)
    finally:
        engine.dispose()  # Python 3.13 warns about sqlite connections left open


def test_create_list_set_password_delete(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "stdin_is_interactive", lambda: True)  # prompts need a TTY
    created = RUNNER.invoke(
        user_app, ["create", "alice", "--password", "pw1", "--admin", "--permissions", "a, b"]
    )
    assert created.exit_code == 0, created.output
    assert "alice" in created.output
    alice = _find_user(data_dir, "alice")
    assert alice is not None
    assert (alice.is_admin, alice.is_active, alice.permissions) == (True, True, ("a", "b"))
    assert HASHER.verify("pw1", alice.password_hash)

    plain = RUNNER.invoke(user_app, ["create", "bob", "--password", "pw"])
    assert plain.exit_code == 0

    listed = RUNNER.invoke(user_app, ["list"])
    assert listed.exit_code == 0
    assert listed.output.index("alice") < listed.output.index("bob")
    assert "a,b" in listed.output

    changed = RUNNER.invoke(user_app, ["set-password", "alice"], input="pw2\npw2\n")
    assert changed.exit_code == 0, changed.output
    alice = _find_user(data_dir, "alice")
    assert alice is not None and HASHER.verify("pw2", alice.password_hash)

    deleted = RUNNER.invoke(user_app, ["delete", "bob"])
    assert deleted.exit_code == 0
    assert _find_user(data_dir, "bob") is None


def test_errors_exit_1_with_a_message(data_dir: Path) -> None:
    assert RUNNER.invoke(user_app, ["create", "alice", "--password", "x"]).exit_code == 0
    duplicate = RUNNER.invoke(user_app, ["create", "alice", "--password", "x"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    for args in (["delete", "nobody"], ["set-password", "nobody", "--password", "x"]):
        result = RUNNER.invoke(user_app, args)
        assert result.exit_code == 1
        assert "no user named 'nobody'" in result.output
    too_long = RUNNER.invoke(user_app, ["create", "carol", "--password", "x" * 73])
    assert too_long.exit_code == 1
    assert "72 bytes" in too_long.output
    assert _find_user(data_dir, "carol") is None


def test_list_on_a_fresh_data_dir_migrates_and_shows_nothing(data_dir: Path) -> None:
    result = RUNNER.invoke(user_app, ["list"])
    assert result.exit_code == 0
    assert (data_dir / "auth.db").exists()


def test_password_from_stdin_and_no_prompt_without_a_terminal(data_dir: Path) -> None:
    created = RUNNER.invoke(user_app, ["create", "dave", "--password-stdin"], input="s3cret pw\n")
    assert created.exit_code == 0, created.output
    dave = _find_user(data_dir, "dave")
    assert dave is not None and HASHER.verify("s3cret pw", dave.password_hash)
    changed = RUNNER.invoke(user_app, ["set-password", "dave", "--password-stdin"], input="new\r\n")
    assert changed.exit_code == 0, changed.output
    dave = _find_user(data_dir, "dave")
    assert dave is not None and HASHER.verify("new", dave.password_hash)
    # CliRunner's stdin is no terminal: a clear error instead of a prompt that reads the pipe.
    asked = RUNNER.invoke(user_app, ["set-password", "dave"], input="pw\npw\n")
    assert asked.exit_code == 1
    assert "--password-stdin" in asked.output and "not a terminal" in asked.output
    empty = RUNNER.invoke(user_app, ["create", "erin", "--password-stdin"], input="")
    assert empty.exit_code == 1 and "no password on standard input" in empty.output
    assert _find_user(data_dir, "erin") is None


def test_prompt_is_hidden_and_confirmed(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "stdin_is_interactive", lambda: True)
    created = RUNNER.invoke(user_app, ["create", "fay"], input="pw-fay\npw-fay\n")
    assert created.exit_code == 0, created.output
    assert "pw-fay" not in created.output  # hidden input is not echoed
    fay = _find_user(data_dir, "fay")
    assert fay is not None and HASHER.verify("pw-fay", fay.password_hash)
    mismatch = RUNNER.invoke(user_app, ["create", "gus"], input="one\ntwo\n")
    assert mismatch.exit_code != 0 and _find_user(data_dir, "gus") is None
