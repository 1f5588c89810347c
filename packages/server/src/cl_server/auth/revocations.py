"""Token revocation, auth's side: which changes revoke a user's tokens, and the list compute polls.

Every user row carries a ``token_version``; each token carries the version its user had when it
was issued (claim ``token_version``; a token without it counts as 0). A change that takes rights
away raises the version in the same transaction as the change, so every token issued before it
falls below the user's version and is refused, here and by the compute service:

- deactivation (``is_active`` true -> false), removal of the admin flag, removal of any
  permission, and a new password;
- deletion: the row goes, and a tombstone in ``auth_deleted_users`` revokes every token of that
  id (ids are never reused).

Adding rights revokes nothing: older tokens simply carry fewer of them until they are renewed.
A version, unlike an issued-at time, needs no clock: a token issued in the same second as a
change (a re-login right after it) is valid at once, and one issued just before it is not.

``GET /auth/revocations`` serves ``RevocationList``: the version of every user whose version is
above 0, and the ids of deleted users. It is small (one entry per affected user) and carries an
``ETag``, so a compute service polling it every second mostly gets an empty 304.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cl_server.auth.db import DeletedUserRow, UserRow

REVOCATIONS_PATH: Final = "/auth/revocations"


class RevocationList(BaseModel):
    """Body of ``GET /auth/revocations``. Keys and ids are the token ``id`` claim (a string)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    token_versions: dict[str, int] = Field(
        default_factory=dict[str, int],
        description="User id -> lowest token_version still valid; users absent accept all",
    )
    deleted: list[str] = Field(
        default_factory=list[str], description="Ids of deleted users: all their tokens are void"
    )


def takes_rights_away(
    row: UserRow,
    *,
    password_hash: str | None,
    permissions: list[str] | None,
    is_active: bool | None,
    is_admin: bool | None,
) -> bool:
    """Whether applying these changes (``None`` = unchanged) to ``row`` must revoke its tokens."""
    return (
        password_hash is not None
        or (is_active is False and row.is_active)
        or (is_admin is False and row.is_admin)
        or (permissions is not None and not set(row.permissions) <= set(permissions))
    )


def revoke_tokens(row: UserRow) -> None:
    """Void every token issued to ``row``'s user so far (inside the change's transaction)."""
    row.token_version += 1


def record_deletion(session: Session, row: UserRow, deleted_at: datetime) -> None:
    """Tombstone ``row``'s id in the transaction that deletes it (``deleted_at``: naive UTC)."""
    session.merge(DeletedUserRow(user_id=row.id, deleted_at=deleted_at))


@dataclass(frozen=True)
class Published:
    """The current list as served: the JSON body and its strong ``ETag`` (quoted)."""

    body: bytes
    etag: str


def publish(revocations: RevocationList) -> Published:
    """Serialise deterministically (sorted ids), so equal lists have equal ETags."""
    ordered = RevocationList(
        token_versions=dict(sorted(revocations.token_versions.items(), key=_id_order)),
        deleted=sorted(revocations.deleted, key=int),
    )
    body = ordered.model_dump_json().encode()
    return Published(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _id_order(item: tuple[str, int]) -> int:
    return int(item[0])


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 ``If-None-Match``: a list of (possibly weak) tags, or ``*``."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


class RevocationReader:
    """Reads the current ``RevocationList`` from the auth database (two small queries)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions: sessionmaker[Session] = sessionmaker(engine)

    def current(self) -> RevocationList:
        # Versions first: a deletion committed between the two reads (each its own snapshot
        # under READ COMMITTED) then shows in both lists instead of in neither.
        with self._sessions.begin() as session:
            versions = session.execute(
                select(UserRow.id, UserRow.token_version).where(UserRow.token_version > 0)
            ).all()
            deleted = session.scalars(select(DeletedUserRow.user_id)).all()
        return RevocationList(
            token_versions={str(user_id): version for user_id, version in versions},
            deleted=[str(user_id) for user_id in deleted],
        )
