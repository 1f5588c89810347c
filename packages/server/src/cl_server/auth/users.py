"""User records and the store that persists them (one short transaction per call).

Callers get frozen ``UserRecord`` values, never ORM objects, so nothing lazy-loads outside a
session and the HTTP layer cannot change a row by accident. Passwords arrive already hashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cl_server.auth.db import UserRow
from cl_server.auth.errors import UsernameTakenError, UserNotFoundError
from cl_server.auth.revocations import record_deletion, revoke_tokens, takes_rights_away


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    password_hash: str
    is_admin: bool
    is_active: bool
    permissions: tuple[str, ...]
    created_at: datetime
    """Naive UTC."""
    token_version: int = 0
    """Tokens issued now carry this; older ones (lower) are revoked (``auth.revocations``)."""


@dataclass(frozen=True)
class UserChanges:
    """Fields to change; ``None`` leaves a field as it is."""

    password_hash: str | None = None
    permissions: Sequence[str] | None = None
    is_active: bool | None = None
    is_admin: bool | None = None


def _record(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        is_admin=row.is_admin,
        is_active=row.is_active,
        permissions=tuple(row.permissions),
        created_at=row.created_at,
        token_version=row.token_version,
    )


_ID_MIN, _ID_MAX = -(2**31), 2**31 - 1


def _storable_id(user_id: int) -> bool:
    """Ids are 32-bit INTEGER columns; comparing with a larger number is an error in PostgreSQL
    (and beyond 64 bits in SQLite). No such user can exist, so the id is simply absent."""
    return _ID_MIN <= user_id <= _ID_MAX


def _existing_row(session: Session, user_id: int) -> UserRow:
    """The row of ``user_id``, locked for the rest of the transaction (PostgreSQL; SQLite has one
    writer anyway), so two concurrent changes cannot both raise ``token_version`` from the same
    value; ``UserNotFoundError`` when there is none (or cannot be one)."""
    row = session.get(UserRow, user_id, with_for_update=True) if _storable_id(user_id) else None
    if row is None:
        raise UserNotFoundError()
    return row


def utc_now_naive() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def get(self, user_id: int) -> UserRecord | None:
        if not _storable_id(user_id):
            return None
        with self._sessions() as session:
            row = session.get(UserRow, user_id)
            return None if row is None else _record(row)

    def get_by_username(self, username: str) -> UserRecord | None:
        with self._sessions() as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _record(row)

    def list_users(self, *, skip: int = 0, limit: int = 100) -> list[UserRecord]:
        with self._sessions() as session:
            rows = session.scalars(select(UserRow).order_by(UserRow.id).offset(skip).limit(limit))
            return [_record(row) for row in rows]

    def create(
        self,
        *,
        username: str,
        password_hash: str,
        is_admin: bool = False,
        is_active: bool = True,
        permissions: Sequence[str] = (),
    ) -> UserRecord:
        """Insert a user; ``UsernameTakenError`` when the name exists (checked by the database)."""
        row = UserRow(
            username=username,
            password_hash=password_hash,
            is_admin=is_admin,
            is_active=is_active,
            permissions=list(permissions),
            created_at=utc_now_naive(),
            token_version=0,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError as exc:
            # The unique constraint is the only one a valid insert can break; checking first
            # would race with a concurrent insert of the same name.
            raise UsernameTakenError() from exc
        return _record(row)

    def update(self, user_id: int, changes: UserChanges) -> UserRecord:
        """Apply ``changes``; one that takes rights away also revokes the user's tokens, in the
        same transaction."""
        permissions = None if changes.permissions is None else list(changes.permissions)
        with self._sessions.begin() as session:
            row = _existing_row(session, user_id)
            if takes_rights_away(
                row,
                password_hash=changes.password_hash,
                permissions=permissions,
                is_active=changes.is_active,
                is_admin=changes.is_admin,
            ):
                revoke_tokens(row)
            if changes.password_hash is not None:
                row.password_hash = changes.password_hash
            if permissions is not None:
                row.permissions = permissions
            if changes.is_active is not None:
                row.is_active = changes.is_active
            if changes.is_admin is not None:
                row.is_admin = changes.is_admin
            return _record(row)

    def delete(self, user_id: int) -> None:
        """Delete the user and tombstone the id, so all their tokens are revoked."""
        with self._sessions.begin() as session:
            row = _existing_row(session, user_id)
            record_deletion(session, row, utc_now_naive())
            session.delete(row)
