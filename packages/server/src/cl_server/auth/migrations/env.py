"""Alembic environment of the auth schema.

Run by ``cl_server.auth.migrate``, which hands over an open connection inside a transaction
(``config.attributes["connection"]``); there is no alembic.ini.
"""

from __future__ import annotations

from cl_server.auth.db import Base
from cl_server.auth.migrate import VERSION_TABLE
from cl_server.db.migrate import run_migrations

run_migrations(
    Base.metadata,
    VERSION_TABLE,
    schema="auth",
    entry_point="cl_server.auth.migrate.upgrade_to_head",
)
