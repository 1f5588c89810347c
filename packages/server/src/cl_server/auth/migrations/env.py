"""Alembic environment of the auth schema.

Run by ``cl_server.auth.migrate``, which hands over an open connection inside a transaction
(``config.attributes["connection"]``); there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cl_server.auth.db import Base
from cl_server.auth.migrate import VERSION_TABLE


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
    raise RuntimeError("run auth migrations through cl_server.auth.migrate.upgrade_to_head")
_run(connection)
