"""The job list query: newest first, keyset pagination on (created_at, job_id), no OFFSET.

Each statement is shaped so one index serves it (see the ``ix_jobs_list*`` indexes in
``models.py``): equality on at most one leading column, then a range on ``created_at`` and an
ORDER BY that a backward scan of ``(…, created_at, job_id)`` yields as is. A deep page costs
the same as the first one because the cursor turns into the range's upper end, not a count of
rows to skip.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from cl_server.store.models import JobRow
from cl_server.store.records import JobFilter, JobKey

MAX_PAGE = 500
"""The largest page ``list_statements`` accepts (the HTTP endpoint's limit)."""

_NEWEST_FIRST = (JobRow.created_at.desc(), JobRow.job_id.desc())


def _before(key: JobKey) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in newest-first order.

    Written as ``created_at <= k AND (created_at < k OR job_id < id)`` rather than a row-value
    comparison or a plain OR: the first term is an index range bound on both SQLite and
    PostgreSQL, and the second only filters the few rows that share ``key``'s timestamp.
    """
    return (JobRow.created_at <= key.created_at) & or_(
        JobRow.created_at < key.created_at, JobRow.job_id < key.job_id
    )


def list_statements(
    job_filter: JobFilter, limit: int, after: JobKey | None
) -> list[Select[JobRow]]:
    """The statements whose newest-first merge is the page (each already ordered and limited).

    Several statuses give one statement per status instead of ``status IN (...)``: an IN list
    on the index's leading column would make the database gather every matching row and sort
    them, while per-status statements are each one short index scan.
    """
    if not 1 <= limit <= MAX_PAGE + 1:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE + 1}")
    common: list[ColumnElement[bool]] = []
    if job_filter.task_type is not None:
        common.append(JobRow.task_type == job_filter.task_type)
    if job_filter.created_by is not None:
        common.append(JobRow.created_by == job_filter.created_by)
    if job_filter.created_after is not None:
        common.append(JobRow.created_at >= job_filter.created_after)
    if job_filter.created_before is not None:
        common.append(JobRow.created_at < job_filter.created_before)
    if after is not None:
        common.append(_before(after))
    statuses: Sequence[str | None] = tuple(dict.fromkeys(job_filter.statuses)) or (None,)
    statements: list[Select[JobRow]] = []
    for status in statuses:
        conditions = list(common)
        if status is not None:
            conditions.append(JobRow.status == status)
        statements.append(select(JobRow).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit))
    return statements


def fetch_newest(
    session: Session, job_filter: JobFilter, limit: int, after: JobKey | None
) -> list[JobRow]:
    """Up to ``limit`` matching rows after ``after``, newest first."""
    runs = [
        list(session.scalars(statement)) for statement in list_statements(job_filter, limit, after)
    ]
    if len(runs) == 1:
        return runs[0]
    # Each run is already newest first and at most ``limit`` long: merge, keep the head.
    merged = heapq.merge(*runs, key=lambda row: (row.created_at, row.job_id), reverse=True)
    return [row for _, row in zip(range(limit), merged, strict=False)]
