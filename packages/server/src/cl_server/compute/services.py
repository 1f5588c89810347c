"""The long-lived objects one compute service instance works with."""

from __future__ import annotations

from dataclasses import dataclass

from cl_server.compute.access import AccessState, access_state
from cl_server.compute.created_jobs import CreatedJobs
from cl_server.compute.job_files import JobFiles
from cl_server.compute.public_key import PublicKeySource
from cl_server.live.service import LiveEvents
from cl_server.metrics.service import ComputeMetrics
from cl_server.mqtt.capabilities import CapabilityTracker
from cl_server.mqtt.events import EventPublisher
from cl_server.settings import ComputeSettings
from cl_server.store import JobStore


@dataclass
class ComputeServices:
    settings: ComputeSettings
    store: JobStore
    files: JobFiles
    publisher: EventPublisher
    capabilities: CapabilityTracker
    """The worker directory: /capabilities, GET /workers and worker change listeners."""
    keys: PublicKeySource
    metrics: ComputeMetrics
    live: LiveEvents
    """The hub behind ``GET /events``."""
    created: CreatedJobs
    """Records of jobs submitted here lately, so event consumers skip a store read."""

    def access_state(self) -> AccessState:
        if self.settings.no_auth:
            return "auth_disabled"
        return access_state(auth_disabled=False, guest_mode=self.store.get_config().guest_mode)
