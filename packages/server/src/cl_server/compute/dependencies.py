"""FastAPI dependencies: the services object, the two access checks of §3.1, and job lookup
that honours owners."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from cl_server.compute.access import Caller, authorize, may_access
from cl_server.compute.errors import NotFoundError
from cl_server.compute.services import ComputeServices
from cl_server.store import JobRecord


async def get_services(request: Request) -> ComputeServices:
    # async: FastAPI runs a plain def dependency in the thread pool, a trip per request for
    # an attribute read.
    services: ComputeServices = request.app.state.services
    return services


Services = Annotated[ComputeServices, Depends(get_services)]


async def _authorize(
    services: ComputeServices, authorization: str | None, *, admin: bool
) -> Caller:
    if services.settings.no_auth:
        # Nothing to read or fetch (access_state needs no row, authorize decodes no token): a
        # trip to the thread pool would cost more than the check.
        return authorize(services.access_state(), authorization, services.keys, admin=admin)

    # Reading guest mode touches the database and key fetching may do HTTP: keep the loop free
    # (one trip to the thread pool for both).
    def check() -> Caller:
        return authorize(services.access_state(), authorization, services.keys, admin=admin)

    return await run_in_threadpool(check)


async def require_jobs_access(
    services: Services, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    return await _authorize(services, authorization, admin=False)


async def require_admin(
    services: Services, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    return await _authorize(services, authorization, admin=True)


JobsCaller = Annotated[Caller, Depends(require_jobs_access)]
AdminCaller = Annotated[Caller, Depends(require_admin)]


def job_not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"Job {job_id} not found")


async def get_visible_job(job_id: str, services: Services, caller: JobsCaller) -> JobRecord:
    """The job ``{job_id}`` if the caller may see it; else the same 404 as for a missing job.

    Someone else's job answers exactly like an unknown id, so job ids of other users cannot
    be probed. (The row is read in the thread pool; the dependency itself is async so that a
    route needing nothing more, like ``GET /jobs/{id}``, makes one trip there, not two.)
    """
    job = await run_in_threadpool(services.store.get_job, job_id)
    if job is None or not may_access(caller, job.created_by):
        raise job_not_found(job_id)
    return job


VisibleJob = Annotated[JobRecord, Depends(get_visible_job)]
