"""The user store and its migrations, on a SQLite file."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from cl_server.auth.db import Base, create_auth_engine
from cl_server.auth.errors import UsernameTakenError, UserNotFoundError
from cl_server.auth.migrate import VERSION_TABLE, upgrade_to_head
from cl_server.auth.users import UserChanges, UserStore


def test_migration_creates_the_schema_with_its_own_version_table(
    engine: Engine, tmp_path: Path
) -> None:
    database = tmp_path / "nested" / "auth.db"  # parent directory made on demand
    assert stat.S_IMODE(database.stat().st_mode) == 0o600  # it holds password hashes
    tables = set(inspect(engine).get_table_names())
    assert tables == {"auth_users", "auth_deleted_users", "cl_auth_alembic_version"}
    upgrade_to_head(engine)  # idempotent
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM cl_auth_alembic_version"))
        assert [row[0] for row in versions] == ["0002"]


def test_migrations_match_the_orm_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_in_memory_sqlite_works(tmp_path: Path) -> None:
    engine = create_auth_engine("sqlite://")
    upgrade_to_head(engine)
    store = UserStore(engine)
    store.create(username="m", password_hash="h")
    assert [u.username for u in store.list_users()] == ["m"]
    engine.dispose()


def test_create_and_read_back(store: UserStore) -> None:
    created = store.create(
        username="alice", password_hash="h", is_admin=True, permissions=["z", "a"]
    )
    assert created.id == 1
    assert created.permissions == ("z", "a")
    assert created.created_at.tzinfo is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", created.created_at.isoformat())
    assert store.get(1) == created
    assert store.get_by_username("alice") == created
    assert store.get(2) is None
    assert store.get_by_username("bob") is None


def test_duplicate_username_raises(store: UserStore) -> None:
    store.create(username="alice", password_hash="h")
    with pytest.raises(UsernameTakenError):
        store.create(username="alice", password_hash="other")
    assert len(store.list_users()) == 1


def test_list_is_ordered_by_id_with_skip_and_limit(store: UserStore) -> None:
    for name in ["c", "a", "b"]:
        store.create(username=name, password_hash="h")
    assert [u.username for u in store.list_users()] == ["c", "a", "b"]
    assert [u.id for u in store.list_users(skip=1, limit=1)] == [2]
    assert store.list_users(limit=0) == []


def test_update_changes_only_given_fields(store: UserStore) -> None:
    user = store.create(username="u", password_hash="h1", permissions=["a"])
    same = store.update(user.id, UserChanges())
    assert same == user
    changed = store.update(user.id, UserChanges(permissions=[], is_admin=True))
    assert (changed.permissions, changed.is_admin, changed.password_hash) == ((), True, "h1")
    changed = store.update(user.id, UserChanges(password_hash="h2", is_active=False))
    assert (changed.password_hash, changed.is_active, changed.is_admin) == ("h2", False, True)
    assert store.get(user.id) == changed


def test_update_and_delete_of_missing_users_raise(store: UserStore) -> None:
    for user_id in [1, -1, 2**70]:
        with pytest.raises(UserNotFoundError):
            store.update(user_id, UserChanges(is_admin=True))
        with pytest.raises(UserNotFoundError):
            store.delete(user_id)
        assert store.get(user_id) is None


def test_delete_and_ids_are_never_reused(store: UserStore) -> None:
    store.create(username="first", password_hash="h")
    last = store.create(username="last", password_hash="h")
    store.delete(last.id)
    assert store.get(last.id) is None
    assert [u.username for u in store.list_users()] == ["first"]
    # A reused id would let the deleted user's unexpired tokens act as the new user.
    assert store.create(username="next", password_hash="h").id == last.id + 1
