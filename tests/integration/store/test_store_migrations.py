"""The shipped Alembic migrations build exactly the ORM schema, on a fresh database, race-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, create_engine, inspect, text

from cl_server.db.migrate import alembic_config
from cl_server.store import JobStore, NewJob
from cl_server.store.engine import create_store_engine
from cl_server.store.migrate import MIGRATIONS_DIR, VERSION_TABLE
from cl_server.store.models import Base

pytestmark = pytest.mark.integration


def _schema_diff(store: JobStore, metadata: MetaData) -> list[object]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return list(compare_metadata(context, metadata))


def test_migrations_match_orm_metadata(store: JobStore) -> None:
    assert _schema_diff(store, Base.metadata) == []


def test_schema_comparison_detects_drift(store: JobStore) -> None:
    """Guards the test above against comparing nothing: a model change must show up."""
    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["jobs"].append_column(Column("extra", Integer, nullable=True))

    diff = _schema_diff(store, drifted)

    assert len(diff) == 1
    assert "extra" in repr(diff[0])


def test_migrated_schema_has_claim_index(store: JobStore) -> None:
    inspector = inspect(store.engine)
    indexes = {index["name"]: index for index in inspector.get_indexes("jobs")}
    assert "ix_jobs_claim_order" in indexes
    assert set(inspector.get_table_names()) >= {"jobs", "service_config", VERSION_TABLE}


def test_fresh_sqlite_file_in_missing_directory(tmp_path: Path) -> None:
    db_file = tmp_path / "not" / "yet" / "there" / "compute.db"

    with JobStore.open(f"sqlite:///{db_file}") as store:
        assert store.count_jobs() == 0
        assert store.get_config().guest_mode is True

    assert db_file.is_file()
    with JobStore.open(f"sqlite:///{db_file}") as again:  # a second upgrade is a no-op
        with again.engine.connect() as conn:
            version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
        assert version == "0003"


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    with (
        JobStore.open(f"sqlite:///{tmp_path / 'compute.db'}") as store,
        store.engine.connect() as conn,
    ):
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragma["journal_mode"] == "wal"
    assert pragma["foreign_keys"] == 1
    assert pragma["busy_timeout"] >= 1_000


_OPEN_SCRIPT = """
import sys
from cl_server.store import JobStore, NewJob
sys.stdin.readline()  # start together
with JobStore.open(sys.argv[1]) as store:
    print(store.count_jobs(), store.get_config().guest_mode)
"""


def test_concurrent_first_open_of_sqlite_file(tmp_path: Path) -> None:
    """Compute service and workers start together on a fresh machine: one migrates, all work."""
    url = f"sqlite:///{tmp_path / 'fresh' / 'compute.db'}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_SCRIPT, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [proc.communicate(timeout=90) for proc in procs]

    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "0 True"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM service_config")).scalar_one()
    finally:
        engine.dispose()
    assert rows == 1


def test_in_memory_sqlite_store() -> None:
    with JobStore.open("sqlite://") as store:
        store.create_job(NewJob("m1", "hash", {"input_path": "input/x"}, 5, 1))
        [job] = store.claim("w1", ["hash"])
        assert job.job_id == "m1"
        assert store.complete("m1", job.attempt, {"ok": True})


def test_upgrade_from_0002_keeps_jobs_and_claims_by_the_full_index(tmp_path: Path) -> None:
    """A database made by an earlier release: 0003 rebuilds the claim index around its jobs."""
    url = f"sqlite:///{tmp_path / 'compute.db'}"
    engine = create_store_engine(url)
    config = alembic_config(MIGRATIONS_DIR)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    old_columns = {
        index["name"]: index["column_names"] for index in inspect(engine).get_indexes("jobs")
    }["ix_jobs_claim_order"]
    assert "job_id" not in old_columns
    with engine.begin() as connection:
        for job_id, priority in (("a", 1), ("b", 9)):
            connection.execute(
                text(
                    "INSERT INTO jobs (job_id, task_type, status, progress, params, priority,"
                    " created_at, updated_at, attempt, releases, forgiven_attempts)"
                    " VALUES (:id, 'hash', 'queued', 0, '{}', :priority, 1, 1, 0, 0, 0)"
                ),
                {"id": job_id, "priority": priority},
            )
    engine.dispose()

    with JobStore.open(url) as store:
        columns = {
            index["name"]: index["column_names"]
            for index in inspect(store.engine).get_indexes("jobs")
        }["ix_jobs_claim_order"]
        assert columns == ["status", "priority", "created_at", "job_id"]
        assert [job.job_id for job in store.claim("w1", ["hash"])] == ["b"]
        assert [job.job_id for job in store.claim("w1", ["hash"])] == ["a"]
