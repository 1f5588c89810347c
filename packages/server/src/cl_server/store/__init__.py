"""Compute job store: jobs and service configuration in SQLite (default) or PostgreSQL."""

from cl_server.store.errors import JobStateError
from cl_server.store.job_store import JobStore
from cl_server.store.records import (
    CANCELLABLE,
    CANCELLED,
    COMPLETED,
    FAILED,
    PROCESSING,
    QUEUED,
    RETRYABLE,
    STATUSES,
    JobFilter,
    JobKey,
    JobPage,
    JobRecord,
    NewJob,
    ServiceConfig,
)

__all__ = [
    "CANCELLABLE",
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "PROCESSING",
    "QUEUED",
    "RETRYABLE",
    "STATUSES",
    "JobFilter",
    "JobKey",
    "JobPage",
    "JobRecord",
    "JobStateError",
    "JobStore",
    "NewJob",
    "ServiceConfig",
]
