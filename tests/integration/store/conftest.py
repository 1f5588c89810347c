"""Fixtures for job-store tests: every test runs against SQLite and against PostgreSQL.

PostgreSQL comes from ``CL_TEST_POSTGRES_URL`` (default the local trust-auth server). Each test
session creates its own uniquely named database and drops it at the end, so parallel runs do not
clash; within the session each test starts from an emptied store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from cl_server.store import JobStore
from tests.support.postgres import fresh_database_or_skip


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    with fresh_database_or_skip("cl_store_test") as url:
        yield url


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
