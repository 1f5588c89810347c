"""The live event machinery of one compute service: hub, job-event feed and worker listener."""

from __future__ import annotations

from dataclasses import dataclass

from cl_client.models import WorkerInfo
from cl_server.live.hub import EventHub
from cl_server.live.job_feed import JobEventFeed, JobLookup
from cl_server.live.stream import StreamOptions
from cl_server.mqtt.capabilities import CapabilityTracker
from cl_server.settings import ComputeSettings
from cl_server.store import JobStore


@dataclass
class LiveEvents:
    hub: EventHub
    feed: JobEventFeed
    """Subscribe ``feed.handle_message`` to ``inference/events``."""
    options: StreamOptions

    @classmethod
    def start(
        cls,
        settings: ComputeSettings,
        store: JobStore,
        workers: CapabilityTracker,
        facts_lookup: JobLookup | None = None,
    ) -> LiveEvents:
        hub = EventHub(settings.events_buffer_size)
        feed = JobEventFeed(hub, facts_lookup or store.get_job)
        feed.start()

        def worker_changed(info: WorkerInfo) -> None:
            hub.publish("worker", info.model_dump_json())

        workers.add_listener(worker_changed)
        options = StreamOptions(heartbeat_s=settings.events_heartbeat_seconds)
        return cls(hub=hub, feed=feed, options=options)

    def close(self) -> None:
        """End every open stream, then stop the feed."""
        self.hub.close()
        self.feed.close()
