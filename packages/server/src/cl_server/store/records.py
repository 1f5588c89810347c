"""Plain records returned by the job store (detached from any database session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cl_client.models import JobResponse

QUEUED: Final = "queued"
PROCESSING: Final = "processing"
COMPLETED: Final = "completed"
FAILED: Final = "failed"


@dataclass(frozen=True)
class NewJob:
    job_id: str
    task_type: str
    params: dict[str, Any]
    priority: int
    created_at: int


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
    attempts charged to the job are ``attempt - releases``.
    """

    @property
    def charged_attempts(self) -> int:
        return self.attempt - self.releases

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
        )


@dataclass(frozen=True)
class ServiceConfig:
    guest_mode: bool
    updated_at: int | None
    updated_by: str | None
