"""Apply the job store's Alembic migrations (shipped in this package; no alembic.ini).

Several processes (compute service and workers) may open a fresh database at the same moment,
so the upgrade runs inside one transaction that first takes a database-wide lock: ``BEGIN
IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL. Both databases have
transactional DDL, so the loser of the race waits, then finds the schema at head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from cl_server.store.engine import BEGIN_IMMEDIATE, BEGIN_OPTION

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE: Final = "cl_compute_alembic_version"
"""Not alembic's default name, so the job store can share a database with other schemas."""
_PG_LOCK_KEY: Final = 0x636C5F6A6F6273  # "cl_jobs"; any constant shared by all processes


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def upgrade_to_head(engine: Engine) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(**{BEGIN_OPTION: BEGIN_IMMEDIATE})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
