"""Compute job store: jobs and service configuration in SQLite (default) or PostgreSQL."""

from cl_server.store.job_store import JobStore
from cl_server.store.records import (
    COMPLETED,
    FAILED,
    PROCESSING,
    QUEUED,
    JobRecord,
    NewJob,
    ServiceConfig,
)

__all__ = [
    "COMPLETED",
    "FAILED",
    "PROCESSING",
    "QUEUED",
    "JobRecord",
    "JobStore",
    "NewJob",
    "ServiceConfig",
]
