"""Auth database: the ``auth_users`` and ``auth_deleted_users`` tables and engine construction.

Any SQLAlchemy URL works; the default is a SQLite file in the data directory. The auth schema is
independent of the compute job store (its own tables and Alembic version table), so both may
live in one database or in two.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import JSON, Boolean, DateTime, Engine, Integer, String, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

from cl_server.store.engine import is_memory_sqlite

SQLITE_BUSY_TIMEOUT_S: Final = 30.0
"""The CLI and the service may write the same SQLite file; a writer waits this long for the lock."""


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "auth_users"
    # Never reuse the id of a deleted user (SQLite otherwise reuses the highest one): an
    # unexpired token of the deleted user would authenticate as the newcomer.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean)
    is_active: Mapped[bool] = mapped_column(Boolean)
    # A JSON list keeps the order the permissions were given in (PROTOCOL.md §2.2).
    permissions: Mapped[list[str]] = mapped_column(JSON)
    # Naive UTC with microseconds; rendered as e.g. 2026-01-24T10:30:00.123456.
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Raised by every change that takes rights away; tokens carrying a lower one are revoked
    # (cl_server.auth.revocations).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeletedUserRow(Base):
    """Tombstone of a deleted user: every token naming this id is revoked (ids are never
    reused, so the row never has to go)."""

    __tablename__ = "auth_deleted_users"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(DateTime)


def create_auth_engine(url: str | URL) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a database restart must not surface as an error on the next request.
        return create_engine(parsed, pool_pre_ping=True)
    if is_memory_sqlite(parsed):
        # One shared connection, or each pooled connection would see its own empty database.
        return create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    if parsed.database is not None and not parsed.database.startswith("file:"):
        path = Path(parsed.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        # The file holds password hashes: create it owner-only (SQLite's -wal/-shm files copy
        # its mode). An existing file keeps the mode its owner gave it.
        path.touch(mode=0o600, exist_ok=True)
    return create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
