"""The compute job store: the single source of truth for jobs and the service configuration.

One ``Engine`` per store, one short session per call, so a ``JobStore`` is safe to share between
threads; several processes may open the same database. Every method returns detached
``JobRecord``/``ServiceConfig`` dataclasses.

Leases and attempts (see docs/store.md):
- ``claim`` increments ``attempt``; it is the fencing token. ``report_progress``, ``complete``,
  ``fail`` and ``release`` are single ``UPDATE ... WHERE job_id AND attempt AND
  status='processing'`` statements and return ``False`` when no row matched, so a worker whose
  lease expired (and whose job was claimed again) cannot overwrite the newer attempt.
- ``release`` (graceful shutdown) increments ``releases``; a user's ``retry`` moves the attempts
  charged so far into ``forgiven_attempts``; attempts charged against ``max_attempts`` are
  ``attempt - releases - forgiven_attempts``.
- ``cancel`` and ``retry`` (user actions, see ``user_actions``) raise ``JobStateError`` when the
  job's status does not allow them.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, CursorResult, Engine, Result, Row, Update, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from cl_server.store import hot_statements as hot
from cl_server.store import user_actions
from cl_server.store.engine import (
    BEGIN_IMMEDIATE,
    BEGIN_OPTION,
    create_store_engine,
    is_sqlite,
)
from cl_server.store.job_list import MAX_PAGE, fetch_newest
from cl_server.store.migrate import upgrade_to_head
from cl_server.store.models import CONFIG_ROW_ID, JobRow, ServiceConfigRow
from cl_server.store.records import (
    FAILED,
    PROCESSING,
    QUEUED,
    JobFilter,
    JobKey,
    JobPage,
    JobRecord,
    NewJob,
    ServiceConfig,
)
from cl_server.timeutil import now_ms

# Bound the size of ``IN (...)`` lists (SQLite limits bound parameters per statement).
_DELETE_CHUNK = 500


def _record(row: JobRow | Row[Any]) -> JobRecord:
    """The record of an ORM row or of a Core row of the jobs table (same attribute names)."""
    return JobRecord(
        job_id=row.job_id,
        task_type=row.task_type,
        status=row.status,
        progress=row.progress,
        params=dict(row.params),
        task_output=dict(row.task_output) if row.task_output is not None else None,
        error_message=row.error_message,
        priority=row.priority,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        attempt=row.attempt,
        leased_by=row.leased_by,
        lease_expires_at=row.lease_expires_at,
        releases=row.releases,
        forgiven_attempts=row.forgiven_attempts,
        worker_id=row.worker_id,
        created_by=row.created_by,
    )


def _config(row: ServiceConfigRow | Row[Any] | None) -> ServiceConfig:
    if row is None:  # only if someone deleted the row the migration inserted
        return ServiceConfig(guest_mode=True, updated_at=None, updated_by=None)
    return ServiceConfig(
        guest_mode=bool(row.guest_mode), updated_at=row.updated_at, updated_by=row.updated_by
    )


def _rowcount(result: Result[Any]) -> int:
    # Session.execute() is typed as Result; for UPDATE/DELETE it is a CursorResult.
    assert isinstance(result, CursorResult)
    return result.rowcount


def _now(now: int | None) -> int:
    return now_ms() if now is None else now


class JobStore:
    def __init__(
        self, engine: Engine, *, lease_seconds: float = 30.0, max_attempts: int = 3
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._engine = engine
        self._lease_ms = round(lease_seconds * 1000)
        self._max_attempts = max_attempts
        self._reader = sessionmaker(engine, expire_on_commit=False)
        # On SQLite a writing transaction starts with BEGIN IMMEDIATE: it holds the write lock
        # from its first statement, so read-then-update (claim, requeue) is atomic across
        # processes. Other dialects ignore the option.
        writing_engine = engine.execution_options(**{BEGIN_OPTION: BEGIN_IMMEDIATE})
        self._writer = sessionmaker(writing_engine, expire_on_commit=False)
        # The calls every job makes go through Core (``hot_statements``), not the ORM.
        self._writing_engine = writing_engine
        # Engines for the single-statement calls. SQLite: the same transactions as every other
        # write (BEGIN IMMEDIATE takes the write lock, with its short retries). PostgreSQL:
        # autocommit, so the statement is its own transaction, without a BEGIN and a COMMIT (or
        # ROLLBACK) round trip around it (0.2 ms a call instead of 0.35 to 0.5, measured on a
        # local server); and what a worker writes while it runs a job (claim, lease renewals,
        # progress, the result) commits without waiting for the WAL flush, 0.1 ms a write
        # instead of 0.4 here. Losing the last of those writes in a database crash is what
        # at-least-once delivery already covers: the job is queued again or its lease expires,
        # and it runs again. Job creation and every user action keep the server's
        # synchronous_commit.
        self._owned_engines = [engine]
        # One job is claimed in one UPDATE ... RETURNING wherever the database has it
        # (PostgreSQL; SQLite from 3.35, inside the same BEGIN IMMEDIATE as before) instead of
        # a SELECT and an UPDATE: a statement and its Python row handling fewer per job.
        self._claims_in_one_statement = bool(engine.dialect.update_returning)
        if not is_sqlite(engine.url):
            worker_engine = create_store_engine(engine.url, commit_waits_for_flush=False)
            self._owned_engines.append(worker_engine)
            autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
            self._single_reads = self._single_writes = autocommit
            self._worker_writes = worker_engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            self._single_reads = engine
            self._single_writes = self._worker_writes = writing_engine

    @classmethod
    def open(cls, url: str, *, lease_seconds: float = 30.0, max_attempts: int = 3) -> JobStore:
        """Connect to ``url`` (SQLAlchemy URL) and migrate the schema to the newest revision."""
        engine = create_store_engine(url)
        try:
            upgrade_to_head(engine)
            return cls(engine, lease_seconds=lease_seconds, max_attempts=max_attempts)
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        for engine in self._owned_engines:
            engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def lease_seconds(self) -> float:
        return self._lease_ms / 1000

    @property
    def max_attempts(self) -> int:
        return self._max_attempts

    @contextmanager
    def _read(self) -> Generator[Session, None, None]:
        with self._reader.begin() as session:
            yield session

    @contextmanager
    def _write(self) -> Generator[Session, None, None]:
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def _read_core(self) -> Generator[Connection, None, None]:
        """A connection for one read statement."""
        with self._single_reads.connect() as connection:
            yield connection

    @contextmanager
    def _write_core(self) -> Generator[Connection, None, None]:
        """A write transaction of several statements."""
        with self._writing_engine.begin() as connection:
            yield connection

    # -- jobs -----------------------------------------------------------------------------

    def create_job(self, job: NewJob) -> JobRecord:
        record = JobRecord(
            job_id=job.job_id,
            task_type=job.task_type,
            status=QUEUED,
            progress=0,
            params=dict(job.params),
            task_output=None,
            error_message=None,
            priority=job.priority,
            created_at=job.created_at,
            updated_at=job.created_at,
            started_at=None,
            completed_at=None,
            attempt=0,
            leased_by=None,
            lease_expires_at=None,
            releases=0,
            forgiven_attempts=0,
            worker_id=None,
            created_by=job.created_by,
        )
        with self._single_writes.begin() as connection:
            connection.execute(hot.INSERT_JOB, [asdict(record)])
        return record

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._read_core() as connection:
            row = connection.execute(hot.GET_JOB, {"b_job_id": job_id}).first()
            return None if row is None else _record(row)

    def get_jobs(self, job_ids: Collection[str]) -> dict[str, JobRecord]:
        """The jobs among ``job_ids`` that exist, by id, read in one statement."""
        if not job_ids:
            return {}
        with self._read_core() as connection:
            rows = connection.execute(hot.GET_JOBS, {"b_job_ids": list(job_ids)}).all()
        return {row.job_id: _record(row) for row in rows}

    def delete_job(self, job_id: str) -> bool:
        return self.delete_jobs([job_id]) > 0

    def delete_jobs(self, job_ids: Sequence[str]) -> int:
        deleted = 0
        with self._write() as session:
            for start in range(0, len(job_ids), _DELETE_CHUNK):
                chunk = list(job_ids[start : start + _DELETE_CHUNK])
                result = session.execute(
                    delete(JobRow).where(JobRow.job_id.in_(chunk)),
                    execution_options={"synchronize_session": False},
                )
                deleted += _rowcount(result)
        return deleted

    def list_jobs(
        self, job_filter: JobFilter, *, limit: int = 100, after: JobKey | None = None
    ) -> JobPage:
        """One page of matching jobs, newest first, starting after ``after`` (exclusive)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        with self._read() as session:
            # One row more than the page says whether another page follows.
            rows = fetch_newest(session, job_filter, limit + 1, after)
            jobs = [_record(row) for row in rows[:limit]]
        next_key = jobs[-1].key if len(rows) > limit else None
        return JobPage(jobs=jobs, next_key=next_key)

    def cancel(self, job_id: str, message: str | None, now: int | None = None) -> JobRecord | None:
        """Cancel a queued or processing job (``JobStateError`` otherwise); ``None``: no job."""
        with self._write() as session:
            row = user_actions.cancel(session, job_id, message, _now(now))
            session.flush()
            return None if row is None else _record(row)

    def retry(self, job_id: str, now: int | None = None) -> JobRecord | None:
        """Queue a failed or cancelled job again (``JobStateError`` otherwise); ``None``: no job."""
        with self._write() as session:
            row = user_actions.retry(session, job_id, _now(now))
            session.flush()
            return None if row is None else _record(row)

    def list_jobs_created_before(self, cutoff_ms: int) -> list[JobRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.created_at < cutoff_ms).order_by(JobRow.created_at)
            )
            return [_record(row) for row in rows]

    def count_jobs(self) -> int:
        with self._read() as session:
            return session.scalar(select(func.count()).select_from(JobRow)) or 0

    def all_job_ids(self) -> list[str]:
        with self._read() as session:
            return list(session.scalars(select(JobRow.job_id).order_by(JobRow.created_at)))

    def has_queued(self, task_types: Sequence[str]) -> bool:
        if not task_types:
            return False
        with self._read_core() as connection:
            found = connection.execute(hot.HAS_QUEUED, {"b_task_types": list(task_types)}).first()
            return found is not None

    # -- worker side ----------------------------------------------------------------------

    def claim(
        self,
        worker_id: str,
        task_types: Sequence[str],
        limit: int = 1,
        now: int | None = None,
        *,
        check_first: bool = True,
    ) -> list[JobRecord]:
        """Atomically lease up to ``limit`` queued jobs, all of one task type.

        The first job is the best queued job of any of ``task_types`` (priority, then age); the
        rest of the batch are the next best jobs of that same type. ``check_first=False`` skips
        the read that guards the write transaction, for a caller that expects to find work.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if not task_types:
            return []
        # A read first: idle workers poll often, and on SQLite every write transaction takes
        # the database-wide write lock, so only take it when there is something to claim.
        if check_first and not self.has_queued(task_types):
            return []
        now = _now(now)
        expires = now + self._lease_ms
        if limit == 1 and self._claims_in_one_statement:
            with self._worker_writes.begin() as connection:
                claimed = connection.execute(
                    hot.CLAIM_ONE_RETURNING,
                    {
                        "b_task_types": list(task_types),
                        "b_now": now,
                        "b_worker": worker_id,
                        "b_expires": expires,
                    },
                ).first()
            return [] if claimed is None else [_record(claimed)]
        with self._write_core() as connection:
            # PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent claimers take different rows
            # without waiting. SQLite renders no FOR UPDATE; BEGIN IMMEDIATE serialises claims.
            first = connection.execute(hot.CLAIM_FIRST, {"b_task_types": list(task_types)}).first()
            if first is None:
                return []
            rows = [first]
            if limit > 1:
                rows += connection.execute(
                    hot.CLAIM_MORE,
                    {
                        "b_task_type": first.task_type,
                        "b_first_id": first.job_id,
                        "b_limit": limit - 1,
                    },
                ).all()
            connection.execute(
                hot.CLAIM_UPDATE,
                [
                    {
                        "b_job_id": row.job_id,
                        "b_now": now,
                        "b_worker": worker_id,
                        "b_expires": expires,
                    }
                    for row in rows
                ],
            )
        return [
            replace(
                _record(row),
                status=PROCESSING,
                progress=0,
                started_at=now,
                updated_at=now,
                leased_by=worker_id,
                worker_id=worker_id,
                lease_expires_at=expires,
                attempt=row.attempt + 1,
            )
            for row in rows
        ]

    def renew_lease(
        self, job_id: str, worker_id: str, attempt: int, now: int | None = None
    ) -> bool:
        """Extend the lease; ``False`` when the job is no longer this worker's attempt."""
        expires = _now(now) + self._lease_ms
        return self._set_attempt(
            hot.RENEW_LEASE, job_id, attempt, b_worker=worker_id, b_expires=expires
        )

    def report_progress(self, job_id: str, attempt: int, progress: int) -> bool:
        clamped = min(99, max(1, progress))
        return self._set_attempt(
            hot.REPORT_PROGRESS, job_id, attempt, b_progress=clamped, b_now=now_ms()
        )

    def complete(self, job_id: str, attempt: int, task_output: dict[str, Any]) -> bool:
        return self._set_attempt(
            hot.COMPLETE, job_id, attempt, b_output=task_output, b_now=now_ms()
        )

    def fail(self, job_id: str, attempt: int, error_message: str) -> bool:
        return self._set_attempt(hot.FAIL, job_id, attempt, b_error=error_message, b_now=now_ms())

    def release(self, job_id: str, attempt: int) -> bool:
        """Give a job back on graceful shutdown; the attempt is not charged to the job."""
        return self._set_attempt(hot.RELEASE, job_id, attempt, b_now=now_ms())

    def _set_attempt(self, statement: Update, job_id: str, attempt: int, **values: Any) -> bool:
        """One compare-and-set UPDATE: applies only to the current attempt of a running job."""
        with self._worker_writes.begin() as connection:
            result = connection.execute(
                statement, {"b_job_id": job_id, "b_attempt": attempt, **values}
            )
            return result.rowcount == 1

    def requeue_expired(self, now: int | None = None) -> list[JobRecord]:
        """Requeue (or, out of attempts, fail) jobs whose lease expired; returns the changes."""
        now = _now(now)
        expired = (JobRow.status == PROCESSING, JobRow.lease_expires_at < now)
        with self._read() as session:  # cheap check first, as in claim()
            if session.scalar(select(JobRow.job_id).where(*expired).limit(1)) is None:
                return []
        with self._write() as session:
            rows = session.scalars(
                select(JobRow)
                .where(*expired)
                .order_by(JobRow.lease_expires_at)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                charged = row.attempt - row.releases - row.forgiven_attempts
                if charged >= self._max_attempts:
                    changes = _to_failed(
                        now,
                        f"Job failed after {charged} attempts: worker lease expired "
                        f"(last worker: {row.leased_by})",
                    )
                else:
                    changes = _back_to_queue(now)
                for key, value in changes.items():
                    setattr(row, key, value)
            session.flush()
            return [_record(row) for row in rows]

    # -- service configuration ------------------------------------------------------------

    def get_config(self) -> ServiceConfig:
        # Read on every access check (guest mode), so through Core like the job hot paths.
        with self._read_core() as connection:
            row = connection.execute(hot.GET_CONFIG, {"b_id": CONFIG_ROW_ID}).first()
        return _config(row)

    def set_guest_mode(
        self, enabled: bool, updated_by: str | None, now: int | None = None
    ) -> ServiceConfig:
        now = _now(now)
        with self._write() as session:
            row = session.get(ServiceConfigRow, CONFIG_ROW_ID)
            if row is None:
                row = ServiceConfigRow(id=CONFIG_ROW_ID)
                session.add(row)
            row.guest_mode = enabled
            row.updated_at = now
            row.updated_by = updated_by
            session.flush()
            return _config(row)


def _back_to_queue(now: int) -> dict[str, Any]:
    return {
        "status": QUEUED,
        "progress": 0,
        "started_at": None,
        "updated_at": now,
        "leased_by": None,
        "lease_expires_at": None,
    }


def _to_failed(now: int, error_message: str) -> dict[str, Any]:
    return {
        "status": FAILED,
        "task_output": None,
        "error_message": error_message,
        "completed_at": now,
        "updated_at": now,
        "leased_by": None,
        "lease_expires_at": None,
    }
