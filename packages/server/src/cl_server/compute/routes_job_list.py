"""``GET /jobs``: the job list, newest first, filtered, in pages joined by an opaque cursor."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query

from cl_client.models import JobListResponse
from cl_server.bounds import INT64_MAX
from cl_server.compute.access import owner_scope
from cl_server.compute.dependencies import JobsCaller, Services
from cl_server.compute.job_cursor import decode_cursor, encode_cursor
from cl_server.openapi import error_responses
from cl_server.store import JobFilter
from cl_server.store.job_list import MAX_PAGE

router = APIRouter()

DEFAULT_PAGE: Final = 100
ListedStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]


@router.get(
    "/jobs",
    response_model=JobListResponse,
    responses=error_responses(400, s400="The cursor is not a next_cursor of this server"),
)
def list_jobs(
    services: Services,
    caller: JobsCaller,
    status: Annotated[
        list[ListedStatus] | None, Query(description="Repeat for any of several statuses.")
    ] = None,
    task_type: str | None = None,
    created_by: str | None = None,
    created_after: Annotated[
        int | None,
        Query(ge=0, le=INT64_MAX, description="Jobs created at or after this time (ms)."),
    ] = None,
    created_before: Annotated[
        int | None,
        Query(ge=0, le=INT64_MAX, description="Jobs created before this time (ms)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page; omit for the first.")
    ] = None,
) -> JobListResponse:
    after = None if cursor is None else decode_cursor(cursor)
    scope = owner_scope(caller)
    if scope is not None:
        if created_by is not None and created_by != scope:
            # A non-admin sees only their own jobs, so anyone else's list is empty for them.
            return JobListResponse(jobs=[], next_cursor=None)
        created_by = scope
    job_filter = JobFilter(
        statuses=tuple(status or ()),
        task_type=task_type,
        created_by=created_by,
        created_after=created_after,
        created_before=created_before,
    )
    page = services.store.list_jobs(job_filter, limit=limit, after=after)
    return JobListResponse(
        jobs=[job.to_response() for job in page.jobs],
        next_cursor=None if page.next_key is None else encode_cursor(page.next_key),
    )
