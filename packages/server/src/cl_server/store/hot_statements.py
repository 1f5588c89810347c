"""Pre-built SQLAlchemy Core statements for the calls every job makes (create, get, claim, the
compare-and-set writes of a running job) and for the guest-mode read of every access check.

Through ORM sessions each of these cost 0.5 to 1.5 ms of Python per call (session set-up,
statement construction, cache-key generation, ORM result handling) against a few microseconds
in SQLite itself, several times per job. Built once with bind parameters, a Core statement
compiles once per dialect and is then only executed. The SQL is the same as before, so
PostgreSQL gets ``FOR UPDATE SKIP LOCKED`` on the claim reads as it did.

Bind parameter names start with ``b_``: SQLAlchemy reserves the column names themselves for
the VALUES of INSERT and UPDATE.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select, update

from cl_server.store.models import JobRow, ServiceConfigRow
from cl_server.store.records import COMPLETED, FAILED, PROCESSING, QUEUED

jobs: Table = JobRow.__table__  # pyright: ignore[reportAssignmentType]
_c = jobs.c
# Highest priority first, then oldest; job_id makes ties deterministic.
_CLAIM_ORDER = (_c.priority.desc(), _c.created_at, _c.job_id)

_config: Table = ServiceConfigRow.__table__  # pyright: ignore[reportAssignmentType]
GET_CONFIG = select(_config).where(_config.c.id == bindparam("b_id"))

INSERT_JOB = insert(jobs)
GET_JOB = select(jobs).where(_c.job_id == bindparam("b_job_id"))
GET_JOBS = select(jobs).where(_c.job_id.in_(bindparam("b_job_ids", expanding=True)))
HAS_QUEUED = (
    select(_c.job_id)
    .where(_c.status == QUEUED, _c.task_type.in_(bindparam("b_task_types", expanding=True)))
    .limit(1)
)
CLAIM_FIRST = (
    select(jobs)
    .where(_c.status == QUEUED, _c.task_type.in_(bindparam("b_task_types", expanding=True)))
    .order_by(*_CLAIM_ORDER)
    .limit(1)
    .with_for_update(skip_locked=True)
)
CLAIM_MORE = (
    select(jobs)
    .where(
        _c.status == QUEUED,
        _c.task_type == bindparam("b_task_type"),
        _c.job_id != bindparam("b_first_id"),
    )
    .order_by(*_CLAIM_ORDER)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
)
# What a claim sets: the job runs, leased to b_worker until b_expires, as its next attempt.
_CLAIMED = {
    "status": PROCESSING,
    "progress": 0,
    "started_at": bindparam("b_now"),
    "updated_at": bindparam("b_now"),
    "leased_by": bindparam("b_worker"),
    "worker_id": bindparam("b_worker"),
    "lease_expires_at": bindparam("b_expires"),
    "attempt": _c.attempt + 1,
}
CLAIM_UPDATE = (
    update(jobs).where(_c.job_id == bindparam("b_job_id"), _c.status == QUEUED).values(_CLAIMED)
)

# One job in one statement. PostgreSQL (its own transaction in autocommit): the subquery locks
# the best queued row, skipping rows other claimers hold, and the UPDATE returns the row as
# claimed; the queue pattern PostgreSQL's docs give for SKIP LOCKED. SQLite (3.35 and newer)
# renders no FOR UPDATE and runs it inside BEGIN IMMEDIATE, which serialises claimers.
CLAIM_ONE_RETURNING = (
    update(jobs)
    .where(
        _c.job_id
        == select(_c.job_id)
        .where(_c.status == QUEUED, _c.task_type.in_(bindparam("b_task_types", expanding=True)))
        .order_by(*_CLAIM_ORDER)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery(),
        _c.status == QUEUED,
    )
    .values(_CLAIMED)
    .returning(*jobs.c)
)

# The writes of a running job apply only to its current attempt (the fencing token).
_CURRENT_ATTEMPT = (
    _c.job_id == bindparam("b_job_id"),
    _c.attempt == bindparam("b_attempt"),
    _c.status == PROCESSING,
)
RENEW_LEASE = (
    update(jobs)
    .where(*_CURRENT_ATTEMPT, _c.leased_by == bindparam("b_worker"))
    .values(lease_expires_at=bindparam("b_expires"))
)
REPORT_PROGRESS = (
    update(jobs)
    .where(*_CURRENT_ATTEMPT)
    .values(progress=bindparam("b_progress"), updated_at=bindparam("b_now"))
)
COMPLETE = (
    update(jobs)
    .where(*_CURRENT_ATTEMPT)
    .values(
        status=COMPLETED,
        progress=100,
        task_output=bindparam("b_output", type_=_c.task_output.type),
        error_message=None,
        completed_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        leased_by=None,
        lease_expires_at=None,
    )
)
FAIL = (
    update(jobs)
    .where(*_CURRENT_ATTEMPT)
    .values(
        status=FAILED,
        task_output=None,
        error_message=bindparam("b_error"),
        completed_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        leased_by=None,
        lease_expires_at=None,
    )
)
RELEASE = (
    update(jobs)
    .where(*_CURRENT_ATTEMPT)
    .values(
        status=QUEUED,
        progress=0,
        started_at=None,
        updated_at=bindparam("b_now"),
        leased_by=None,
        lease_expires_at=None,
        releases=_c.releases + 1,
    )
)
