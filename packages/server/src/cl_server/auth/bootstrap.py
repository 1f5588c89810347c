"""Bootstrap admin (PROTOCOL.md §2.5): make sure ``<admin_username>`` exists at every start.

The password is the configured one (``CL_ADMIN_PASSWORD``). Without one, a random password is
generated, written to ``<data_dir>/admin-password.txt`` (mode 0600) and logged once, when the
user is created; later starts find the user and log nothing about it. There is no fixed default.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from cl_server.auth.errors import UsernameTakenError
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.users import UserRecord, UserStore

logger = logging.getLogger(__name__)

ADMIN_PASSWORD_FILE = "admin-password.txt"
ADMIN_PERMISSIONS = ("*",)


def _write_private_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT


def ensure_admin(
    store: UserStore,
    hasher: PasswordHasher,
    *,
    username: str,
    password: str | None,
    data_dir: Path,
) -> UserRecord | None:
    """Create the admin if missing and return it; ``None`` when it already existed.

    An existing user is never changed, even if the configured password differs: use
    ``cl-server user set-password`` for that.
    """
    if store.get_by_username(username) is not None:
        return None
    generated = not password
    secret = password or secrets.token_urlsafe(18)
    password_hash = hasher.hash(secret)
    password_file = data_dir / ADMIN_PASSWORD_FILE
    if generated:
        # Written before the user exists, so a failure here cannot leave an admin whose
        # password nobody knows.
        _write_private_file(password_file, secret + "\n")
    try:
        admin = store.create(
            username=username,
            password_hash=password_hash,
            is_admin=True,
            is_active=True,
            permissions=ADMIN_PERMISSIONS,
        )
    except UsernameTakenError:  # another process created it in the meantime
        return None
    if generated:
        logger.warning(
            "Created admin user %r with generated password %s (saved in %s, readable only by "
            "this user; change it with `cl-server user set-password %s`)",
            username,
            secret,
            password_file,
            username,
        )
    else:
        logger.info("Created admin user %r with the configured password", username)
    return admin
