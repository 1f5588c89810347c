"""Response bodies. ``UserOut``'s field order is the wire key order of PROTOCOL.md §2.2."""

from __future__ import annotations

from pydantic import BaseModel

from cl_server.auth.users import UserRecord

CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
"""Always with microseconds (``isoformat()`` drops them when they are zero)."""


class UserOut(BaseModel):
    username: str
    is_admin: bool
    is_active: bool
    id: int
    created_at: str
    permissions: list[str]

    @classmethod
    def of(cls, user: UserRecord) -> UserOut:
        return cls(
            username=user.username,
            is_admin=user.is_admin,
            is_active=user.is_active,
            id=user.id,
            created_at=user.created_at.strftime(CREATED_AT_FORMAT),
            permissions=list(user.permissions),
        )


class ServiceInfo(BaseModel):
    message: str
