"""Everything ``GET /metrics`` reports, on a registry of the compute app's own.

A registry per app, not prometheus_client's global one: several compute apps in one process (as
in the tests) would otherwise clash on metric names, and the process/platform collectors the
global registry carries say nothing about jobs.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import choose_encoder

from cl_server.metrics.collector import JobMetrics
from cl_server.metrics.feed import EventFeed
from cl_server.metrics.queue_depth import QueueDepthCollector
from cl_server.mqtt.capabilities import CapabilityTracker
from cl_server.plugins.registry import plugin_specs
from cl_server.store import JobRecord, JobStore


class ComputeMetrics:
    def __init__(
        self,
        store: JobStore,
        workers: CapabilityTracker,
        facts_lookup: Callable[[str], JobRecord | None] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        task_types = sorted(plugin_specs())
        self.jobs = JobMetrics(
            self.registry,
            store.get_job,
            facts_lookup=facts_lookup,
            batch_lookup=store.get_jobs,
            task_types=task_types,
        )
        self.registry.register(QueueDepthCollector(store.engine, task_types))
        connected = Gauge(
            "cl_workers_connected",
            "Workers connected to the broker now (as counted by /capabilities)",
            registry=self.registry,
        )
        connected.set_function(lambda: workers.summary().num_workers)
        self.feed = EventFeed(self.jobs.record_batch)
        """Subscribe ``feed.handle_message`` to ``inference/events``."""

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """Every metric as of now, and its content type: the classic text format (0.0.4), or
        OpenMetrics when the scraper's ``Accept`` asks for it (as Prometheus does)."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type

    def close(self) -> None:
        self.feed.close()
