"""Auth wire models (PROTOCOL.md §2.2, §7.9)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TokenResponse(_WireModel):
    access_token: str
    token_type: str = "bearer"


class PublicKeyResponse(_WireModel):
    public_key: str
    algorithm: str


class UserResponse(_WireModel):
    id: int
    username: str
    is_admin: bool = False
    is_active: bool = True
    created_at: datetime
    permissions: list[str] = Field(default_factory=list)


def _join_permissions(permissions: list[str]) -> str:
    return ",".join(permissions)


class UserCreateRequest(_WireModel):
    username: str
    password: str
    is_admin: bool = False
    is_active: bool = True
    permissions: list[str] = Field(default_factory=list)

    def to_api_payload(self) -> dict[str, str]:
        """Form fields for ``POST /users/``; permissions comma-joined."""
        return {
            "username": self.username,
            "password": self.password,
            "is_admin": str(self.is_admin).lower(),
            "is_active": str(self.is_active).lower(),
            "permissions": _join_permissions(self.permissions),
        }


class UserUpdateRequest(_WireModel):
    password: str | None = None
    permissions: list[str] | None = None
    is_active: bool | None = None
    is_admin: bool | None = None

    def to_api_payload(self) -> dict[str, str]:
        """Form fields for ``PUT /users/{id}``: only the fields that are set."""
        payload: dict[str, str] = {}
        if self.password is not None:
            payload["password"] = self.password
        if self.permissions is not None:
            payload["permissions"] = _join_permissions(self.permissions)
        if self.is_active is not None:
            payload["is_active"] = str(self.is_active).lower()
        if self.is_admin is not None:
            payload["is_admin"] = str(self.is_admin).lower()
        return payload
