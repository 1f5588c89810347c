"""Start-up behaviour seen from outside: key files, restarts, bootstrap admin (PROTOCOL.md §2.4,
§2.5)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest

from cl_server.auth.bootstrap import ADMIN_PASSWORD_FILE
from cl_server.auth.keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE
from cl_server.auth.tokens import decode_token
from tests.integration.auth.conftest import (
    ADMIN_PASSWORD,
    auth_settings,
    bearer,
    login,
    running_auth,
)

pytestmark = pytest.mark.integration


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _admins(client: httpx.Client, token: str) -> list[dict[str, object]]:
    users: list[dict[str, object]] = client.get("/users/", headers=bearer(token)).json()
    return [u for u in users if u["username"] == "admin"]


def test_key_files_are_created_owner_only_and_match_the_served_key(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path)
    with running_auth(settings) as client:
        served = client.get("/auth/public-key").json()["public_key"]
    keys_dir = settings.keys_dir
    assert _mode(keys_dir) == 0o700
    assert _mode(keys_dir / PRIVATE_KEY_FILE) == 0o600
    assert (keys_dir / PRIVATE_KEY_FILE).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (keys_dir / PUBLIC_KEY_FILE).read_text() == served
    assert served.startswith("-----BEGIN PUBLIC KEY-----")


def test_restart_keeps_keys_users_and_token_validity(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path)
    with running_auth(settings) as client:
        admin_token = login(client, "admin", ADMIN_PASSWORD)
        created = client.post(
            "/users/", data={"username": "kept", "password": "kept-pw"}, headers=bearer(admin_token)
        )
        assert created.status_code == 201
        user_token = login(client, "kept", "kept-pw")
        key_before = client.get("/auth/public-key").json()["public_key"]

    with running_auth(settings) as client:
        key_after = client.get("/auth/public-key").json()["public_key"]
        assert key_after == key_before
        # Tokens issued before the restart still verify, locally and at the service.
        assert decode_token(user_token, key_after).user_id == created.json()["id"]
        me = client.get("/users/me", headers=bearer(user_token))
        assert me.status_code == 200
        assert me.json() == created.json()
        assert len(_admins(client, admin_token)) == 1


def test_replaced_mismatched_key_pair_invalidates_old_tokens(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path)
    with running_auth(settings) as client:
        token = login(client, "admin", ADMIN_PASSWORD)
    # Someone replaces the public key with an unrelated one: the pair no longer matches.
    other = auth_settings(tmp_path / "other")
    with running_auth(other):
        pass
    (settings.keys_dir / PUBLIC_KEY_FILE).write_text((other.keys_dir / PUBLIC_KEY_FILE).read_text())
    with running_auth(settings) as client:
        served = client.get("/auth/public-key").json()["public_key"]
        assert served not in ((other.keys_dir / PUBLIC_KEY_FILE).read_text(),)
        assert client.get("/users/me", headers=bearer(token)).status_code == 401
        fresh = login(client, "admin", ADMIN_PASSWORD)
        assert client.get("/users/me", headers=bearer(fresh)).status_code == 200


def test_bootstrap_admin_with_configured_password(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path, admin_username="root", admin_password="given-pw")
    with running_auth(settings) as client:
        token = login(client, "root", "given-pw")
        me = client.get("/users/me", headers=bearer(token)).json()
        assert (me["username"], me["is_admin"], me["is_active"], me["permissions"]) == (
            "root",
            True,
            True,
            ["*"],
        )
        assert me["id"] == 1
    assert not (tmp_path / ADMIN_PASSWORD_FILE).exists()


def test_bootstrap_admin_with_generated_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = auth_settings(tmp_path, admin_password=None)
    password_file = tmp_path / ADMIN_PASSWORD_FILE
    with caplog.at_level(logging.INFO, logger="cl_server.auth"), running_auth(settings) as client:
        assert _mode(password_file) == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 16
        assert password != "admin"
        token = login(client, "admin", password)
        assert client.get("/users/me", headers=bearer(token)).json()["is_admin"] is True
    assert password in caplog.text  # shown once, at first start

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cl_server.auth"), running_auth(settings) as client:
        login(client, "admin", password)
        assert len(_admins(client, token)) == 1
    assert password not in caplog.text
    assert password_file.read_text().strip() == password


def test_two_fresh_data_dirs_get_different_generated_passwords(tmp_path: Path) -> None:
    passwords: list[str] = []
    for name in ("one", "two"):
        with running_auth(auth_settings(tmp_path / name, admin_password=None)):
            passwords.append((tmp_path / name / ADMIN_PASSWORD_FILE).read_text())
    assert passwords[0] != passwords[1]


def test_bootstrap_recreates_a_deleted_admin_on_next_start(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path)
    with running_auth(settings) as client:
        token = login(client, "admin", ADMIN_PASSWORD)
        helper = client.post(
            "/users/",
            data={"username": "second", "password": "pw", "is_admin": "true"},
            headers=bearer(token),
        )
        assert client.delete("/users/1", headers=bearer(token)).status_code == 204
    with running_auth(settings) as client:
        second = login(client, "second", "pw")
        [admin] = _admins(client, second)
        assert admin["id"] == helper.json()["id"] + 1
        login(client, "admin", ADMIN_PASSWORD)
