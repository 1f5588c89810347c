"""``/admin*`` endpoints (PROTOCOL §3.2): guest mode, storage size, cleanup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from pydantic import BaseModel

from cl_server.bounds import MAX_DAYS, MS_PER_DAY
from cl_server.compute.dependencies import AdminCaller, Services
from cl_server.timeutil import now_ms

router = APIRouter(prefix="/admin")


class ConfigResponse(BaseModel):
    guest_mode: bool
    updated_at: int | None
    updated_by: str | None


class GuestModeResponse(BaseModel):
    guest_mode: bool
    message: str = "Configuration updated successfully"


class StorageSizeResponse(BaseModel):
    total_size: int
    job_count: int


class CleanupResponse(BaseModel):
    deleted_count: int
    freed_space: int


@router.get("/config", response_model=ConfigResponse)
def get_config(services: Services, _caller: AdminCaller) -> ConfigResponse:
    config = services.store.get_config()
    return ConfigResponse(
        guest_mode=config.guest_mode, updated_at=config.updated_at, updated_by=config.updated_by
    )


@router.put("/config/guest-mode", response_model=GuestModeResponse)
def set_guest_mode(
    guest_mode: Annotated[bool, Form()], services: Services, caller: AdminCaller
) -> GuestModeResponse:
    config = services.store.set_guest_mode(guest_mode, updated_by=caller.user_id)
    return GuestModeResponse(guest_mode=config.guest_mode)


@router.get("/jobs/storage/size", response_model=StorageSizeResponse)
def storage_size(services: Services, _caller: AdminCaller) -> StorageSizeResponse:
    return StorageSizeResponse(
        total_size=services.files.total_size(), job_count=services.store.count_jobs()
    )


@router.delete("/jobs/cleanup", response_model=CleanupResponse)
def cleanup(
    services: Services,
    _caller: AdminCaller,
    days: Annotated[int, Query(ge=0, le=MAX_DAYS)] = 7,
) -> CleanupResponse:
    cutoff = now_ms() - days * MS_PER_DAY
    old_jobs = services.store.list_jobs_created_before(cutoff)
    freed = sum(services.files.remove_measured(job.job_id) for job in old_jobs)
    deleted = services.store.delete_jobs([job.job_id for job in old_jobs])
    return CleanupResponse(deleted_count=deleted, freed_space=freed)
