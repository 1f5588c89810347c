"""Token revocation on the auth side: which changes revoke, the published list, the migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import Engine, inspect, text

from cl_server.auth.db import create_auth_engine
from cl_server.auth.errors import InvalidCredentialsError
from cl_server.auth.forms import UserCreateForm, UserUpdateForm
from cl_server.auth.migrate import MIGRATIONS_DIR, upgrade_to_head
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.revocations import (
    RevocationList,
    RevocationReader,
    etag_matches,
    publish,
)
from cl_server.auth.service import AuthService
from cl_server.auth.tokens import decode_token
from cl_server.auth.users import UserChanges, UserStore
from cl_server.db.migrate import alembic_config
from cl_server.settings import AuthSettings


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AuthService]:
    settings = AuthSettings.model_validate(
        {"data_dir": tmp_path / "svc", "admin_password": SecretStr("pw")}
    )
    service = AuthService(settings, PasswordHasher(rounds=4))
    service.start()
    yield service
    service.close()


@pytest.mark.parametrize(
    ("changes", "revokes"),
    [
        (UserChanges(), False),
        (UserChanges(permissions=["b", "a"]), False),  # same set, new order
        (UserChanges(permissions=["a", "b", "c"]), False),  # only adds
        (UserChanges(is_active=True), False),
        (UserChanges(is_admin=True), False),  # already admin
        (UserChanges(permissions=["a"]), True),  # "b" removed
        (UserChanges(permissions=[]), True),
        (UserChanges(is_active=False), True),
        (UserChanges(is_admin=False), True),
        (UserChanges(password_hash="new"), True),
        (UserChanges(permissions=["a", "b", "c"], is_admin=False), True),
    ],
)
def test_only_changes_that_take_rights_away_revoke(
    store: UserStore, changes: UserChanges, revokes: bool
) -> None:
    user = store.create(username="u", password_hash="h", is_admin=True, permissions=["a", "b"])
    assert user.token_version == 0
    changed = store.update(user.id, changes)
    assert changed.token_version == (1 if revokes else 0)
    assert store.get(user.id) == changed


def test_granting_rights_back_does_not_undo_a_revocation(store: UserStore) -> None:
    user = store.create(username="u", password_hash="h", permissions=["a"])
    store.update(user.id, UserChanges(is_active=False))
    back = store.update(user.id, UserChanges(is_active=True, permissions=["a", "z"]))
    assert back.token_version == 1


def test_list_has_raised_versions_and_deleted_ids(store: UserStore, engine: Engine) -> None:
    reader = RevocationReader(engine)
    assert reader.current() == RevocationList()
    kept = store.create(username="kept", password_hash="h", permissions=["a"])
    demoted = store.create(username="demoted", password_hash="h", permissions=["a"])
    gone = store.create(username="gone", password_hash="h")
    store.update(demoted.id, UserChanges(permissions=[]))
    store.update(demoted.id, UserChanges(password_hash="h2"))
    store.delete(gone.id)
    assert reader.current() == RevocationList(
        token_versions={str(demoted.id): 2}, deleted=[str(gone.id)]
    )
    assert str(kept.id) not in reader.current().token_versions
    # A deleted user with a raised version appears as deleted (its row is gone).
    store.delete(demoted.id)
    assert reader.current() == RevocationList(deleted=[str(demoted.id), str(gone.id)])


def test_publish_is_deterministic_and_etag_follows_content() -> None:
    a = publish(RevocationList(token_versions={"10": 1, "2": 3}, deleted=["9", "11"]))
    b = publish(RevocationList(token_versions={"2": 3, "10": 1}, deleted=["11", "9"]))
    assert a == b
    assert a.body == b'{"token_versions":{"2":3,"10":1},"deleted":["9","11"]}'
    assert a.etag.startswith('"') and a.etag.endswith('"')
    assert publish(RevocationList(token_versions={"2": 4, "10": 1})).etag != a.etag


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),  # unquoted is not the same tag
    ],
)
def test_if_none_match(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches


def test_a_change_revokes_earlier_tokens_and_a_relogin_in_the_same_second_works(
    service: AuthService,
) -> None:
    form = UserCreateForm.model_validate(
        {"username": "u", "password": "upw", "permissions": "ai_inference_support,x"}
    )
    user_id = service.create_user(form).id
    before = service.issue_token(service.authenticate("u", "upw"))
    assert service.user_for_token(before).id == user_id
    service.update_user(user_id, UserUpdateForm.model_validate({"permissions": "x"}))
    # Both tokens almost certainly carry the same iat second; the version tells them apart.
    after = service.issue_token(service.authenticate("u", "upw"))
    with pytest.raises(InvalidCredentialsError):
        service.user_for_token(before)
    assert service.user_for_token(after).permissions == ("x",)
    assert decode_token(after, service.public_key_pem).token_version == 1
    assert service.revocations.current().token_versions == {str(user_id): 1}


def test_migration_from_0001_keeps_users_and_id_sequence(tmp_path: Path) -> None:
    engine = create_auth_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        config = alembic_config(MIGRATIONS_DIR)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            for name in ("a", "b"):
                connection.execute(
                    text(
                        "INSERT INTO auth_users (username, password_hash, is_admin, is_active,"
                        " permissions, created_at) VALUES (:n, 'h', 0, 1, '[]',"
                        " '2026-01-01 00:00:00')"
                    ),
                    {"n": name},
                )
            connection.execute(text("DELETE FROM auth_users WHERE username = 'b'"))
        upgrade_to_head(engine)
        assert "auth_deleted_users" in inspect(engine).get_table_names()
        store = UserStore(engine)
        old = store.get_by_username("a")
        assert old is not None and old.token_version == 0
        # SQLite's AUTOINCREMENT survived the ALTER: the deleted id 2 is not handed out again.
        assert store.create(username="c", password_hash="h").id == 3
    finally:
        engine.dispose()
