"""Run a schema's Alembic migrations programmatically (no alembic.ini).

Each schema (auth, job store) ships its own ``migrations`` directory and version table, so both
may share one database. ``upgrade_to_head`` hands an open connection to the schema's ``env.py``
through ``config.attributes["connection"]``; the ``env.py`` calls ``run_migrations``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, text

from cl_server.store.engine import BEGIN_IMMEDIATE, BEGIN_OPTION


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    return config


def upgrade_to_head(engine: Engine, migrations_dir: Path, *, lock_key: int | None = None) -> None:
    """Bring the database to the newest schema in one transaction; a no-op when already there.

    With ``lock_key``, the transaction first takes a database-wide lock: ``BEGIN IMMEDIATE`` on
    SQLite (the engine must come from ``create_store_engine``, whose hook honours it), a
    transaction-scoped advisory lock on PostgreSQL. Both databases have transactional DDL, so
    the loser of a race between processes waits, then finds the schema at head.
    """
    config = alembic_config(migrations_dir)
    with engine.connect() as connection:
        if lock_key is not None and connection.dialect.name == "sqlite":
            connection.execution_options(**{BEGIN_OPTION: BEGIN_IMMEDIATE})
        with connection.begin():
            if lock_key is not None and connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def run_migrations(
    target_metadata: MetaData, version_table: str, *, schema: str, entry_point: str
) -> None:
    """The body of a schema's ``env.py``: migrate the connection ``upgrade_to_head`` handed over.

    ``schema`` and ``entry_point`` only word the error raised when alembic is run some other way.
    """
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(f"run {schema} migrations through {entry_point}")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        # SQLite cannot ALTER most things; batch mode rebuilds tables when a migration needs it.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
