"""Errors of the auth service. Each carries the HTTP status and message of PROTOCOL.md §2.1.

The app turns every ``AuthError`` into a response in one exception handler, so handlers and
helpers just raise.
"""

from __future__ import annotations

from typing import ClassVar

from cl_server.errors import ClServerError


class AuthError(ClServerError):
    """An auth failure whose HTTP status and ``detail`` message are fixed by the protocol."""

    status_code: ClassVar[int] = 400
    detail: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None) -> None:
        self.message: str = detail or self.detail
        super().__init__(self.message)


class NotAuthenticatedError(AuthError):
    """The request carries no bearer token."""

    status_code = 401
    detail = "Not authenticated"


class InvalidCredentialsError(AuthError):
    """The bearer token is malformed, badly signed, expired, or names a missing/inactive user."""

    status_code = 401
    detail = "Could not validate credentials"


class IncorrectLoginError(AuthError):
    """Unknown username or wrong password at login."""

    status_code = 401
    detail = "Incorrect username or password"


class InactiveUserError(AuthError):
    """Correct password, but the account is deactivated."""

    status_code = 401
    detail = "Inactive user"


class NotEnoughPrivilegesError(AuthError):
    """The caller is authenticated but its stored ``is_admin`` flag is false."""

    status_code = 403
    detail = "The user doesn't have enough privileges"


class UserNotFoundError(AuthError):
    status_code = 404
    detail = "User not found"


class UsernameTakenError(AuthError):
    status_code = 400
    detail = "Username already registered"


class InvalidTokenError(ClServerError):
    """``decode_token`` could not verify a token; the message says why (for logs, not clients)."""


class InvalidClaimsError(InvalidTokenError):
    """A validly signed token whose claims are missing or of the wrong type (PROTOCOL §2.4)."""


class PasswordTooLongError(ClServerError, ValueError):
    """bcrypt only uses the first 72 bytes of a password; longer ones are refused, not truncated."""
