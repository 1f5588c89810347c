"""Trust on first use: SHA-256 of unpinned model files, recorded at their first download.

The lock lives beside the installed models (``<models root>/models.lock.json``) and maps
``"<model>/<file>"`` to ``{"sha256": ..., "locked_at": ISO date}``. It is rewritten atomically
(temporary file + ``Path.replace``) so a crash never leaves half a lock.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = "models.lock.json"


@dataclass(frozen=True)
class LockEntry:
    sha256: str
    locked_at: str


def lock_path(models_root: Path) -> Path:
    return models_root / LOCK_NAME


def read_lock(models_root: Path) -> dict[str, LockEntry]:
    path = lock_path(models_root)
    if not path.is_file():
        return {}
    raw: object = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, LockEntry] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():  # pyright: ignore[reportUnknownVariableType]
            if isinstance(value, dict):
                sha: object = value.get("sha256")  # pyright: ignore[reportUnknownMemberType]
                when: object = value.get("locked_at", "")  # pyright: ignore[reportUnknownMemberType]
                if isinstance(sha, str) and isinstance(when, str):
                    out[str(key)] = LockEntry(sha, when)  # pyright: ignore[reportUnknownArgumentType]
    return out


def lock_key(model: str, file: str) -> str:
    return f"{model}/{file}"


def add_to_lock(models_root: Path, entries: dict[str, str]) -> None:
    """Record ``{key: sha256}`` dated now, keeping every other entry."""
    if not entries:
        return
    lock = read_lock(models_root)
    today = datetime.now(UTC).date().isoformat()
    for key, sha in entries.items():
        lock[key] = LockEntry(sha, today)
    data = {k: {"sha256": v.sha256, "locked_at": v.locked_at} for k, v in sorted(lock.items())}
    models_root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".lock-", dir=models_root)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    Path(tmp).replace(lock_path(models_root))
