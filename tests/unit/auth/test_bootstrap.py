"""Bootstrap admin (PROTOCOL.md §2.5)."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cl_server.auth.bootstrap import ADMIN_PASSWORD_FILE, ensure_admin
from cl_server.auth.db import create_auth_engine
from cl_server.auth.migrate import upgrade_to_head
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.users import UserStore

HASHER = PasswordHasher(rounds=4)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UserStore]:
    engine = create_auth_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    upgrade_to_head(engine)
    yield UserStore(engine)
    engine.dispose()


def test_configured_password_creates_admin_without_a_file(
    store: UserStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cl_server.auth"):
        admin = ensure_admin(
            store, HASHER, username="boss", password="s3cr3t-value", data_dir=tmp_path
        )
    assert admin is not None
    assert (admin.username, admin.is_admin, admin.is_active, admin.permissions) == (
        "boss",
        True,
        True,
        ("*",),
    )
    assert HASHER.verify("s3cr3t-value", admin.password_hash)
    assert not (tmp_path / ADMIN_PASSWORD_FILE).exists()
    assert "boss" in caplog.text
    assert "s3cr3t-value" not in caplog.text


@pytest.mark.parametrize("password", [None, ""])
def test_no_password_generates_one_saved_owner_only_and_logged_once(
    store: UserStore, tmp_path: Path, caplog: pytest.LogCaptureFixture, password: str | None
) -> None:
    data_dir = tmp_path / "fresh"
    with caplog.at_level(logging.INFO, logger="cl_server.auth"):
        admin = ensure_admin(store, HASHER, username="admin", password=password, data_dir=data_dir)
    assert admin is not None
    password_file = data_dir / ADMIN_PASSWORD_FILE
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    generated = password_file.read_text().strip()
    assert len(generated) >= 16
    assert HASHER.verify(generated, admin.password_hash)
    assert generated in caplog.text

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cl_server.auth"):
        again = ensure_admin(store, HASHER, username="admin", password=None, data_dir=data_dir)
    assert again is None
    assert caplog.text == ""
    assert password_file.read_text().strip() == generated


def test_existing_admin_is_left_alone(store: UserStore, tmp_path: Path) -> None:
    first = ensure_admin(store, HASHER, username="admin", password="one", data_dir=tmp_path)
    assert first is not None
    assert ensure_admin(store, HASHER, username="admin", password="two", data_dir=tmp_path) is None
    stored = store.get_by_username("admin")
    assert stored == first
    assert len(store.list_users()) == 1


def test_overly_permissive_old_password_file_is_tightened(store: UserStore, tmp_path: Path) -> None:
    password_file = tmp_path / ADMIN_PASSWORD_FILE
    password_file.write_text("stale")
    password_file.chmod(0o644)
    ensure_admin(store, HASHER, username="admin", password=None, data_dir=tmp_path)
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password_file.read_text().strip() != "stale"
