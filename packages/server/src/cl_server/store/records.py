"""Plain records returned by the job store (detached from any database session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cl_client.models import JobResponse

QUEUED: Final = "queued"
PROCESSING: Final = "processing"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"

STATUSES: Final = (QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED)
"""Every status the store writes."""
CANCELLABLE: Final = frozenset({QUEUED, PROCESSING})
RETRYABLE: Final = frozenset({FAILED, CANCELLED})


@dataclass(frozen=True)
class NewJob:
    job_id: str
    task_type: str
    params: dict[str, Any]
    priority: int
    created_at: int
    created_by: str | None = None
    """The submitting user's id when auth is enforced; ``None`` otherwise."""


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    task_type: str
    status: str
    progress: int
    params: dict[str, Any]
    task_output: dict[str, Any] | None
    error_message: str | None
    priority: int
    created_at: int
    updated_at: int | None
    started_at: int | None
    completed_at: int | None
    attempt: int
    leased_by: str | None
    lease_expires_at: int | None
    releases: int = 0
    """Claims given back with ``JobStore.release``; they do not count against ``max_attempts``.

    ``attempt`` counts every claim (it is the fencing token of stale-write checks), so the
    attempts charged to the job are ``attempt - releases - forgiven_attempts``.
    """
    forgiven_attempts: int = 0
    """Attempts charged before the last manual retry, which gave the job a fresh budget."""
    worker_id: str | None = None
    """The worker holding the job, or the last one that did (kept after the lease ends)."""
    created_by: str | None = None

    @property
    def charged_attempts(self) -> int:
        return self.attempt - self.releases - self.forgiven_attempts

    @property
    def key(self) -> JobKey:
        return JobKey(self.created_at, self.job_id)

    def to_response(self) -> JobResponse:
        return JobResponse(
            job_id=self.job_id,
            task_type=self.task_type,
            status=self.status,
            progress=self.progress,
            params=self.params,
            task_output=self.task_output,
            error_message=self.error_message,
            priority=self.priority,
            created_at=self.created_at,
            updated_at=self.updated_at,
            started_at=self.started_at,
            completed_at=self.completed_at,
            attempt=self.attempt,
            worker_id=self.worker_id,
            created_by=self.created_by,
        )


@dataclass(frozen=True, order=True)
class JobKey:
    """A job's position in the job list, which runs newest first: by this key, descending."""

    created_at: int
    job_id: str


@dataclass(frozen=True)
class JobFilter:
    """Which jobs ``JobStore.list_jobs`` returns; every given condition must hold."""

    statuses: tuple[str, ...] = ()
    """Any of these statuses (empty: any status)."""
    task_type: str | None = None
    created_by: str | None = None
    created_after: int | None = None
    """Inclusive lower bound on ``created_at`` (ms)."""
    created_before: int | None = None
    """Exclusive upper bound on ``created_at`` (ms), so adjacent windows never overlap."""


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobRecord]
    next_key: JobKey | None
    """Where the next page starts (exclusive); ``None`` on the last page."""


@dataclass(frozen=True)
class ServiceConfig:
    guest_mode: bool
    updated_at: int | None
    updated_by: str | None
