"""State changes a user asks for: cancel and retry (the worker-side ones are in job_store).

Each runs inside the caller's write transaction on a row locked for update (``FOR UPDATE`` on
PostgreSQL, waiting for a claim in flight; the ``BEGIN IMMEDIATE`` write lock on SQLite), so
the status checked is the status changed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cl_server.store.errors import JobStateError
from cl_server.store.models import JobRow
from cl_server.store.records import CANCELLABLE, CANCELLED, QUEUED, RETRYABLE


def _locked(session: Session, job_id: str) -> JobRow | None:
    return session.get(JobRow, job_id, with_for_update=True)


def cancel(session: Session, job_id: str, message: str | None, now: int) -> JobRow | None:
    """Make a queued or running job ``cancelled``; ``None`` if there is no such job.

    Claims only take ``queued`` rows, so a cancelled job never starts; a worker running it has
    its next write refused (every worker write requires ``status='processing'``), which is how
    it learns of the cancel when it missed the MQTT event.
    """
    row = _locked(session, job_id)
    if row is None:
        return None
    if row.status not in CANCELLABLE:
        raise JobStateError(job_id, row.status)
    row.status = CANCELLED
    row.error_message = message
    row.task_output = None
    row.completed_at = now
    row.updated_at = now
    row.leased_by = None
    row.lease_expires_at = None
    return row


def retry(session: Session, job_id: str, now: int) -> JobRow | None:
    """Queue a failed or cancelled job again with the same input and params; ``None`` if absent.

    ``attempt`` is not reset: it is the fencing token, and a worker still finishing an old
    attempt must never match a new one. Instead the attempts charged so far are forgiven, so
    the retried job gets the full ``max_attempts`` budget again; without that, a job that
    failed by running out of attempts would fail at its first expired lease after a retry.
    """
    row = _locked(session, job_id)
    if row is None:
        return None
    if row.status not in RETRYABLE:
        raise JobStateError(job_id, row.status)
    row.forgiven_attempts = row.attempt - row.releases
    row.status = QUEUED
    row.progress = 0
    row.task_output = None
    row.error_message = None
    row.started_at = None
    row.completed_at = None
    row.updated_at = now
    row.leased_by = None
    row.lease_expires_at = None
    return row
