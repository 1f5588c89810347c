"""``POST /jobs/{job_id}/cancel`` and ``POST /jobs/{job_id}/retry``.

Cancel: the store marks the job ``cancelled`` at once (claims skip it; a worker's later writes
are refused), the ``cancelled`` event tells a worker running it to stop now, and partial outputs
are removed here and again by the worker once its plugin has stopped, since the plugin may
still be writing when this request returns. Retry: outputs of the failed or cancelled attempt
are removed, then the job is queued again under the same id, with its input and params.
"""

from __future__ import annotations

from fastapi import APIRouter

from cl_client.models import JobResponse
from cl_server.compute.dependencies import JobsCaller, Services, VisibleJob, job_not_found
from cl_server.compute.errors import ApiError
from cl_server.lifecycle import remove_outputs
from cl_server.openapi import error_responses
from cl_server.store import CANCELLED, QUEUED, RETRYABLE, JobStateError

router = APIRouter()


class JobStateConflictError(ApiError):
    status_code = 409


def _cannot_cancel(job_id: str, status: str) -> JobStateConflictError:
    return JobStateConflictError(
        f"Job {job_id} is {status}; only queued or processing jobs can be cancelled"
    )


def _cannot_retry(job_id: str, status: str) -> JobStateConflictError:
    return JobStateConflictError(
        f"Job {job_id} is {status}; only failed or cancelled jobs can be retried"
    )


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobResponse,
    responses=error_responses(409, s409="The job is neither queued nor processing"),
)
def cancel_job(job: VisibleJob, services: Services, caller: JobsCaller) -> JobResponse:
    message = None if caller.user_id is None else f"cancelled by {caller.user_id}"
    try:
        cancelled = services.store.cancel(job.job_id, message)
    except JobStateError as exc:
        raise _cannot_cancel(job.job_id, exc.status) from exc
    if cancelled is None:  # deleted since the lookup
        raise job_not_found(job.job_id)
    # The event first: a worker running the job stops its plugin (and ffmpeg) on it.
    services.publisher.job_event(job.job_id, CANCELLED, cancelled.progress)
    remove_outputs(services.files.job_dir(job.job_id))
    return cancelled.to_response()


@router.post(
    "/jobs/{job_id}/retry",
    response_model=JobResponse,
    responses=error_responses(409, s409="The job is neither failed nor cancelled"),
)
def retry_job(job: VisibleJob, services: Services) -> JobResponse:
    # Checked before touching files, so a 409 never costs a completed job its outputs; the
    # store checks again under its lock in case the status changed in between.
    if job.status not in RETRYABLE:
        raise _cannot_retry(job.job_id, job.status)
    # Removed before the job is queued again: afterwards a worker may already be writing the
    # new attempt's outputs.
    remove_outputs(services.files.job_dir(job.job_id))
    try:
        retried = services.store.retry(job.job_id)
    except JobStateError as exc:
        raise _cannot_retry(job.job_id, exc.status) from exc
    if retried is None:
        raise job_not_found(job.job_id)
    services.publisher.job_event(job.job_id, QUEUED, 0)
    return retried.to_response()
