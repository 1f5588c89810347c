"""Owner-only files and directories: signing keys, MQTT service credentials, Mosquitto files."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path


def write_private_file(path: Path, data: bytes, mode: int, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` with ``mode``, never exposing a partial or looser file.

    The bytes go to a temporary file created with ``mode`` first. It is then renamed over
    whatever is at ``path`` or, with ``exclusive``, hard-linked into place, which raises
    ``FileExistsError`` when ``path`` exists (another process starting at the same moment won
    the race).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)  # the umask may have removed bits from ``mode``
        if not exclusive:
            tmp.replace(path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: last writer wins, rarely racing
            if path.exists():
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_private_dir(path: Path, *, foreign_ok: bool = False) -> None:
    """Create ``path`` (and its parents) and make it owner-only (0700).

    With ``foreign_ok``, a directory this process may not ``chmod`` (someone else's) is left as
    it is instead of raising ``PermissionError``.
    """
    path.mkdir(parents=True, exist_ok=True)
    if foreign_ok:
        with contextlib.suppress(PermissionError):  # not ours to tighten
            path.chmod(0o700)
    else:
        path.chmod(0o700)
