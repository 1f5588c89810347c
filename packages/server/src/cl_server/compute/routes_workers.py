"""``GET /workers``: connected workers, then those that left within the last hour (PROTOCOL §9)."""

from __future__ import annotations

from fastapi import APIRouter

from cl_client.models import WorkersResponse
from cl_server.compute.dependencies import JobsCaller, Services

router = APIRouter()


@router.get("/workers", response_model=WorkersResponse)
def list_workers(services: Services, _caller: JobsCaller) -> WorkersResponse:
    return WorkersResponse(workers=services.capabilities.workers())
