"""Apply the auth schema's Alembic migrations, shipped in this package (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from cl_server.db import migrate

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE: Final = "cl_auth_alembic_version"
"""Not alembic's default name, so the auth schema can share a database with the job store."""


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""
    migrate.upgrade_to_head(engine, MIGRATIONS_DIR)
