"""Alembic environment of the job store.

Run by ``cl_server.store.migrate``, which hands over an open connection already inside a
locked transaction (``config.attributes["connection"]``); there is no alembic.ini.
"""

from __future__ import annotations

from cl_server.db.migrate import run_migrations
from cl_server.store.migrate import VERSION_TABLE
from cl_server.store.models import Base

run_migrations(
    Base.metadata, VERSION_TABLE, schema="job-store", entry_point="cl_server.store.migrate"
)
