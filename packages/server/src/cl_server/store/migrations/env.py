"""Alembic environment of the job store.

Run by ``cl_server.store.migrate``, which hands over an open connection already inside a
locked transaction (``config.attributes["connection"]``); there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cl_server.store.migrate import VERSION_TABLE
from cl_server.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things; batch mode rebuilds tables when a migration needs it.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run job-store migrations through cl_server.store.migrate")
_run(connection)
