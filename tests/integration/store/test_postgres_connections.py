"""PostgreSQL job store: pooled connections that the server dropped are replaced, not reported.

Stands in for a server restart by terminating the store's backends (``pg_terminate_backend``):
the next call after the idle threshold must succeed on a fresh connection.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from cl_server.store import JobStore, NewJob
from cl_server.store import engine as store_engine

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def store(postgres_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[JobStore]:
    monkeypatch.setattr(store_engine, "PING_AFTER_IDLE_S", 0.2)
    with JobStore.open(postgres_database_url) as opened:
        yield opened


def _terminate_backends(url: str) -> int:
    """Close every other session on the store's database, as a server restart would."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def _new_job() -> NewJob:
    return NewJob(str(uuid.uuid4()), "hash", {}, priority=5, created_at=int(time.time() * 1000))


def test_a_dropped_connection_is_replaced_after_the_idle_ping(
    store: JobStore, postgres_database_url: str
) -> None:
    first = store.create_job(_new_job())
    assert store.get_job(first.job_id) is not None
    assert _terminate_backends(postgres_database_url) >= 1
    time.sleep(0.3)  # past the idle threshold: the next checkout pings, fails, reconnects
    second = store.create_job(_new_job())
    claimed = store.claim("w1", ["hash"])
    assert [job.job_id for job in claimed] == [first.job_id]
    assert claimed[0].attempt == 1 and claimed[0].leased_by == "w1"
    assert store.complete(first.job_id, 1, {"ok": True})
    record = store.get_job(first.job_id)
    assert record is not None and record.status == "completed"
    assert store.get_job(second.job_id) is not None


def _setting(engine_url: str, name: str, *, waits: bool) -> str:
    engine = store_engine.create_store_engine(engine_url, commit_waits_for_flush=waits)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text(f"SHOW {name}")).scalar_one())
    finally:
        engine.dispose()


def test_worker_writes_commit_without_waiting_for_the_flush(postgres_database_url: str) -> None:
    assert _setting(postgres_database_url, "synchronous_commit", waits=False) == "off"
    server_default = _setting(postgres_database_url, "synchronous_commit", waits=True)
    assert server_default != "off"  # job creation keeps the server's setting (here: on)
    # Options already in the URL are kept, not replaced.
    with_options = make_url(postgres_database_url).update_query_dict(
        {"options": "-c statement_timeout=4321"}
    )
    url = with_options.render_as_string(hide_password=False)
    assert _setting(url, "statement_timeout", waits=False) == "4321ms"
    assert _setting(url, "synchronous_commit", waits=False) == "off"
