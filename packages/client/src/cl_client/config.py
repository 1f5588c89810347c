"""SDK constants (PROTOCOL.md §7.2)."""

from __future__ import annotations

from typing import ClassVar

from cl_client.models import TASK_TYPES


class ComputeClientConfig:
    DEFAULT_HOST: ClassVar[str] = "localhost"
    DEFAULT_PORT: ClassVar[int] = 8002
    DEFAULT_BASE_URL: ClassVar[str] = "http://localhost:8002"
    DEFAULT_TIMEOUT: ClassVar[float] = 30.0

    MQTT_BROKER_HOST: ClassVar[str] = "localhost"
    MQTT_BROKER_PORT: ClassVar[int] = 1883
    MQTT_CAPABILITY_TOPIC_PREFIX: ClassVar[str] = "inference/workers"
    MQTT_JOB_EVENTS_TOPIC: ClassVar[str] = "inference/events"

    ENDPOINT_GET_JOB: ClassVar[str] = "/jobs/{job_id}"
    ENDPOINT_DELETE_JOB: ClassVar[str] = "/jobs/{job_id}"
    ENDPOINT_GET_JOB_FILE: ClassVar[str] = "/jobs/{job_id}/files/{file_path}"
    ENDPOINT_CAPABILITIES: ClassVar[str] = "/capabilities"
    ENDPOINT_LIST_JOBS: ClassVar[str] = "/jobs"
    ENDPOINT_CANCEL_JOB: ClassVar[str] = "/jobs/{job_id}/cancel"
    ENDPOINT_RETRY_JOB: ClassVar[str] = "/jobs/{job_id}/retry"
    ENDPOINT_WORKERS: ClassVar[str] = "/workers"
    PLUGIN_ENDPOINTS: ClassVar[dict[str, str]] = {t: f"/jobs/{t}" for t in TASK_TYPES}

    DEFAULT_POLL_INTERVAL: ClassVar[float] = 1.0
    POLL_BACKOFF_MULTIPLIER: ClassVar[float] = 1.5
    MAX_POLL_BACKOFF: ClassVar[float] = 10.0

    WORKER_WAIT_TIMEOUT: ClassVar[float] = 30.0
    WORKER_CAPABILITY_CHECK_INTERVAL: ClassVar[float] = 1.0

    @classmethod
    def get_plugin_endpoint(cls, task_type: str) -> str:
        try:
            return cls.PLUGIN_ENDPOINTS[task_type]
        except KeyError:
            known = ", ".join(sorted(cls.PLUGIN_ENDPOINTS))
            raise ValueError(f"Unknown task type {task_type!r}; known: {known}") from None
