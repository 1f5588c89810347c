"""Apply the job store's Alembic migrations (shipped in this package; no alembic.ini).

Several processes (compute service and workers) may open a fresh database at the same moment,
so the upgrade runs inside one transaction that first takes a database-wide lock: ``BEGIN
IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL. Both databases have
transactional DDL, so the loser of the race waits, then finds the schema at head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from cl_server.db import migrate

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE: Final = "cl_compute_alembic_version"
"""Not alembic's default name, so the job store can share a database with other schemas."""
_PG_LOCK_KEY: Final = 0x636C5F6A6F6273  # "cl_jobs"; any constant shared by all processes


def upgrade_to_head(engine: Engine) -> None:
    migrate.upgrade_to_head(engine, MIGRATIONS_DIR, lock_key=_PG_LOCK_KEY)
