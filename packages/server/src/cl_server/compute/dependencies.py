"""FastAPI dependencies: the services object and the two access checks of §3.1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from cl_server.compute.access import Caller, authorize
from cl_server.compute.services import ComputeServices


def get_services(request: Request) -> ComputeServices:
    services: ComputeServices = request.app.state.services
    return services


Services = Annotated[ComputeServices, Depends(get_services)]


async def _authorize(
    services: ComputeServices, authorization: str | None, *, admin: bool
) -> Caller:
    # Reading guest mode touches the database and key fetching may do HTTP: keep the loop free.
    state = await run_in_threadpool(services.access_state)
    return await run_in_threadpool(authorize, state, authorization, services.keys, admin=admin)


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
