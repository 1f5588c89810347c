"""Models of the compute service's root and admin endpoints (PROTOCOL.md §3.2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ServiceInfo(_WireModel):
    """``GET /`` of the compute service."""

    status: str
    service: str
    version: str
    guestMode: str = "off"  # noqa: N815 - wire name
    auth_required: bool = True
    mqtt_host: str | None = None
    """MQTT broker host clients should use (None from servers that predate it)."""
    mqtt_port: int | None = None
    """MQTT broker port clients should use (None from servers that predate it)."""


class GuestModeConfig(_WireModel):
    """``GET /admin/config``."""

    guest_mode: bool
    updated_at: int | None = None
    updated_by: str | None = None


class StorageSize(_WireModel):
    """``GET /admin/jobs/storage/size``."""

    total_size: int
    job_count: int


class CleanupResult(_WireModel):
    """``DELETE /admin/jobs/cleanup``."""

    deleted_count: int
    freed_space: int
