"""Form bodies of ``POST /users/`` and ``PUT|PATCH /users/{id}`` (PROTOCOL.md §2.1, §2.3).

Form values arrive as strings. Booleans use pydantic's lax parsing, which accepts
true/false/1/0/yes/no/on/off (and t/f/y/n) in any case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from cl_server.auth.passwords import MAX_PASSWORD_BYTES, password_too_long


def _clean(items: Iterable[str]) -> list[str]:
    """Trim whitespace around items and drop empty ones, keeping the given order."""
    return [item.strip() for item in items if item.strip()]


def _unquote(item: str) -> str:
    item = item.strip()
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
        return item[1:-1]
    return item


def parse_permissions(raw: str) -> list[str]:
    """Create form: a JSON array (``["a","b"]``), a bracketed list (``[a, b]``, quotes optional)
    or a comma-separated string (``a,b``). Empty input gives ``[]``."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            value: object = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return _clean(value)  # pyright: ignore[reportUnknownArgumentType]
        return _clean(_unquote(item) for item in text[1:-1].split(","))
    return parse_comma_separated(text)


def parse_comma_separated(raw: str) -> list[str]:
    """Update form: comma-separated only; ``""`` means the empty list."""
    return _clean(raw.split(","))


def _create_permissions(value: object) -> object:
    # Non-strings (an uploaded file) are passed on for the list[str] check to reject.
    return parse_permissions(value) if isinstance(value, str) else value


def _update_permissions(value: object) -> object:
    return parse_comma_separated(value) if isinstance(value, str) else value


def _password_fits_bcrypt(password: str) -> str:
    if password_too_long(password):
        raise PydanticCustomError(
            "password_too_long",
            "Password must be at most {max_bytes} bytes when UTF-8 encoded",
            {"max_bytes": MAX_PASSWORD_BYTES},
        )
    return password


Password = Annotated[str, Field(min_length=1), AfterValidator(_password_fits_bcrypt)]
Username = Annotated[str, Field(min_length=1, max_length=255)]


class UserCreateForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: Username
    password: Password
    is_admin: bool = False
    is_active: bool = True
    permissions: Annotated[list[str], BeforeValidator(_create_permissions)] = Field(
        default_factory=list
    )


class UserUpdateForm(BaseModel):
    """Every field optional; an omitted field is left unchanged."""

    model_config = ConfigDict(extra="ignore")

    password: Password | None = None
    permissions: Annotated[list[str] | None, BeforeValidator(_update_permissions)] = None
    is_active: bool | None = None
    is_admin: bool | None = None
