"""bcrypt password hashing.

bcrypt reads at most 72 bytes of a password. Rather than silently truncating (two passwords that
share their first 72 bytes would then be equal) or pre-hashing (which makes the stored hashes
unlike any other bcrypt user store), passwords longer than 72 UTF-8 bytes are refused: the HTTP
API answers 422 and the CLI exits with a message.
"""

from __future__ import annotations

from functools import cached_property

import bcrypt

from cl_server.auth.errors import PasswordTooLongError

MAX_PASSWORD_BYTES = 72
DEFAULT_ROUNDS = 12


def password_too_long(password: str) -> bool:
    return len(password.encode("utf-8")) > MAX_PASSWORD_BYTES


class PasswordHasher:
    """Hashes and checks passwords; ``rounds`` is bcrypt's cost (tests use the minimum, 4)."""

    def __init__(self, rounds: int = DEFAULT_ROUNDS) -> None:
        self.rounds: int = rounds

    @cached_property
    def _dummy_hash(self) -> bytes:
        # Checked against when a login names an unknown user, so that the answer takes as long
        # as a wrong password for a real user and does not reveal which usernames exist.
        return bcrypt.hashpw(b"dummy password", bcrypt.gensalt(self.rounds))

    def hash(self, password: str) -> str:
        if password_too_long(password):
            raise PasswordTooLongError(
                f"password must be at most {MAX_PASSWORD_BYTES} bytes when UTF-8 encoded"
            )
        return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(self.rounds)).decode("ascii")

    def verify(self, password: str, password_hash: str | None) -> bool:
        """True when ``password`` matches; ``None`` (no such user) takes as long, then False."""
        if password_too_long(password):
            return False
        candidate = password.encode("utf-8")
        if password_hash is None:
            bcrypt.checkpw(candidate, self._dummy_hash)
            return False
        try:
            return bcrypt.checkpw(candidate, password_hash.encode("ascii"))
        except ValueError:  # not a bcrypt hash (corrupted row): treat as a wrong password
            return False
