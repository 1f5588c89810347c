"""Fixtures for job-store tests: every test runs against SQLite and against PostgreSQL.

PostgreSQL comes from ``CL_TEST_POSTGRES_URL`` (default the local trust-auth server). Each test
session creates its own uniquely named database and drops it at the end, so parallel runs do not
clash; within the session each test starts from an emptied store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cl_server.store import JobStore

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    return os.environ.get("CL_TEST_POSTGRES_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    admin_url = make_url(_admin_url())
    name = f"cl_store_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    except ImportError as exc:
        pytest.skip(f"no PostgreSQL driver installed ({exc}); install psycopg[binary]")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {admin_url.render_as_string()}: {exc.orig}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset(store: JobStore) -> None:
    """Bring a shared PostgreSQL database back to the state of a fresh install."""
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs"))
        conn.execute(
            text(
                "UPDATE service_config SET guest_mode = TRUE, updated_at = NULL, updated_by = NULL"
            )
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'data' / 'compute.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    with JobStore.open(url) as store:
        _reset(store)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[JobStore]:
    with JobStore.open(store_url, lease_seconds=10.0, max_attempts=3) as opened:
        yield opened
