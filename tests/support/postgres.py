"""A fresh, uniquely named PostgreSQL database for a test or a benchmark, dropped afterwards.

The server comes from ``CL_TEST_POSTGRES_URL`` (default: the local trust-auth server).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

ADMIN_URL_ENV = "CL_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server (or driver) to create a database on; the message says which."""


def admin_url() -> URL:
    return make_url(os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL))


@contextmanager
def fresh_database(prefix: str) -> Generator[str]:
    """Yield the URL of a new database named ``<prefix>_<random>``; dropped on exit."""
    server = admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
    except ImportError as exc:
        raise PostgresUnavailableError(f"no PostgreSQL driver installed ({exc})") from exc
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        raise PostgresUnavailableError(
            f"PostgreSQL not reachable at {server.render_as_string()}: {exc.orig}"
        ) from exc
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_database_or_skip(prefix: str) -> Generator[str]:
    """``fresh_database`` for tests: skips the test, with the reason, when there is no server."""
    try:
        with fresh_database(prefix) as url:
            yield url
    except PostgresUnavailableError as exc:  # raised only while creating the database
        pytest.skip(str(exc))
