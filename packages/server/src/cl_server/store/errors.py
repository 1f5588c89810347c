"""Errors of the job store."""

from __future__ import annotations

from cl_server.errors import ClServerError


class JobStateError(ClServerError):
    """A user action (cancel, retry) does not apply to the job in its current status."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is {status}")
        self.job_id = job_id
        self.status = status
