"""Wire models shared by the SDK and the server (PROTOCOL.md §3.3, §5, §7.9).

Every model ignores unknown JSON fields so that newer servers stay readable by older clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "processing", "completed", "failed", "error", "cancelled"]
TERMINAL_STATUSES: Final[frozenset[str]] = frozenset({"completed", "failed", "error", "cancelled"})

TASK_TYPES: Final[tuple[str, ...]] = (
    "clip_embedding",
    "dino_embedding",
    "exif",
    "face_detection",
    "face_embedding",
    "hash",
    "hls_streaming",
    "image_conversion",
    "media_thumbnail",
)


class _WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class JobResponse(_WireModel):
    """A job as returned by ``GET /jobs/{job_id}`` (PROTOCOL §3.3)."""

    job_id: str
    task_type: str
    status: str
    progress: int = 0
    params: dict[str, Any] = Field(default_factory=dict)
    task_output: dict[str, Any] | None = None
    error_message: str | None = None
    priority: int = 5
    created_at: int
    updated_at: int | None = None
    started_at: int | None = None
    completed_at: int | None = None
    waiting_reason: str | None = None
    """Why a queued job is not being picked up (no connected worker serves its task type)."""
    attempt: int | None = None
    """How many times a worker has claimed the job (0 while never started); an extension."""
    worker_id: str | None = None
    """The worker running the job, or the last one that ran it; an extension."""
    created_by: str | None = None
    """The user id that submitted the job when auth is enforced; None otherwise."""

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobCreatedResponse(_WireModel):
    """Body of a successful ``POST /jobs/{task_type}``."""

    job_id: str
    status: str = "queued"
    task_type: str


class JobEvent(_WireModel):
    """Payload on ``inference/events`` (PROTOCOL §5.2)."""

    job_id: str
    event_type: str
    timestamp: int
    progress: int = 0


class WorkerCapability(_WireModel):
    """Payload on ``inference/workers/<worker_id>`` (PROTOCOL §5.4)."""

    worker_id: str
    capabilities: list[str]
    idle_count: int
    timestamp: int
    unavailable: dict[str, str] = Field(default_factory=dict)
    """Task types this worker was asked to serve but could not load, with the reason."""
    execution_provider: str | None = None
    """The ONNX Runtime execution provider its ONNX plugins use (e.g. CPUExecutionProvider)."""
    host: str | None = None
    pid: int | None = None
    started_at: int | None = None
    """When this worker process started serving (ms)."""
    models: list[str] = Field(default_factory=list)
    """Registry names of the models its loaded plugins use."""
    current_job_ids: list[str] = Field(default_factory=list)
    """The jobs it is running now (a batch may hold several)."""
    jobs_done: int = 0
    jobs_failed: int = 0


class WorkerCapabilitiesResponse(_WireModel):
    """Body of ``GET /capabilities``."""

    num_workers: int
    capabilities: dict[str, int]
    unavailable: dict[str, str] = Field(default_factory=dict)
    """Task types that no connected worker serves because a worker could not load them, with
    each worker's reason and the command that fixes it."""


class JobListResponse(_WireModel):
    """Body of ``GET /jobs``: newest first; pass ``next_cursor`` back as ``cursor`` for more."""

    jobs: list[JobResponse]
    next_cursor: str | None = None


WorkerState = Literal["idle", "busy", "gone"]


class WorkerInfo(_WireModel):
    """One entry of ``GET /workers``."""

    worker_id: str
    state: WorkerState
    host: str | None = None
    pid: int | None = None
    task_types: list[str] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict)
    models: list[str] = Field(default_factory=list)
    execution_provider: str | None = None
    current_job_id: str | None = None
    current_job_ids: list[str] = Field(default_factory=list)
    jobs_done: int = 0
    jobs_failed: int = 0
    started_at: int | None = None
    last_seen: int
    """Time (ms) of its latest capability message, or when it left for a gone worker."""


class WorkersResponse(_WireModel):
    """Body of ``GET /workers``: connected workers, then those gone within the last hour."""

    workers: list[WorkerInfo]


OnJobResponseCallback = (
    Callable[[JobResponse], None] | Callable[[JobResponse], Awaitable[None]] | None
)
