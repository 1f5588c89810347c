"""The job list's SQL, built without a database: one keyset statement per status, no OFFSET."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from cl_server.store import JobFilter, JobKey
from cl_server.store.job_list import MAX_PAGE, list_statements


def _sql(job_filter: JobFilter, after: JobKey | None = None, dialect: str = "sqlite") -> list[str]:
    compiled_dialect = sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()
    return [
        str(statement.compile(dialect=compiled_dialect, compile_kwargs={"literal_binds": True}))
        for statement in list_statements(job_filter, 11, after)
    ]


def test_one_statement_per_distinct_status() -> None:
    assert len(_sql(JobFilter())) == 1
    several = _sql(JobFilter(statuses=("failed", "cancelled", "failed")))
    assert len(several) == 2
    assert "jobs.status = 'failed'" in several[0] and "jobs.status = 'cancelled'" in several[1]
    assert all(" IN " not in sql for sql in several)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_cursor_is_a_range_bound_not_an_offset(dialect: str) -> None:
    (sql,) = _sql(JobFilter(task_type="hash"), JobKey(1234, "abc"), dialect)
    # SQLAlchemy's SQLite compiler always writes OFFSET after LIMIT; a zero one skips nothing.
    assert "OFFSET" not in sql.replace("OFFSET 0", "")
    assert "jobs.created_at <= 1234" in sql
    assert "jobs.created_at < 1234 OR jobs.job_id < 'abc'" in sql
    assert "ORDER BY jobs.created_at DESC, jobs.job_id DESC" in sql
    assert "LIMIT 11" in sql


def test_every_filter_becomes_a_condition() -> None:
    (sql,) = _sql(
        JobFilter(
            statuses=("queued",),
            task_type="exif",
            created_by="7",
            created_after=100,
            created_before=200,
        )
    )
    for condition in (
        "jobs.status = 'queued'",
        "jobs.task_type = 'exif'",
        "jobs.created_by = '7'",
        "jobs.created_at >= 100",
        "jobs.created_at < 200",
    ):
        assert condition in sql


@pytest.mark.parametrize("limit", [0, MAX_PAGE + 2])
def test_statement_limit_is_bounded(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        list_statements(JobFilter(), limit, None)


def test_keys_order_newest_first_with_job_id_tie_break() -> None:
    keys = [JobKey(5, "b"), JobKey(7, "a"), JobKey(5, "c")]
    assert sorted(keys, reverse=True) == [JobKey(7, "a"), JobKey(5, "c"), JobKey(5, "b")]
