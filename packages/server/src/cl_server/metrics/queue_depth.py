"""``cl_queue_depth{task_type,status}``: queued and processing jobs, read from the store per scrape.

The job store is the truth about the queue (events can be missed while the broker is down), so
the gauge is one GROUP BY query at scrape time rather than a number kept up to date by events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from cl_server.store import PROCESSING, QUEUED
from cl_server.store.models import JobRow

OPEN_STATUSES = (QUEUED, PROCESSING)


def count_by_task_and_status(engine: Engine) -> dict[tuple[str, str], int]:
    """``{(task_type, status): count}`` of the jobs that are queued or processing."""
    query = (
        select(JobRow.task_type, JobRow.status, func.count())
        .where(JobRow.status.in_(OPEN_STATUSES))
        .group_by(JobRow.task_type, JobRow.status)
    )
    with engine.connect() as connection:
        return {
            (task_type, status): count for task_type, status, count in connection.execute(query)
        }


class QueueDepthCollector(Collector):
    """Reports every known task type in both statuses, at zero when empty, so a queue that
    drains shows 0 instead of a series that disappears."""

    def __init__(self, engine: Engine, task_types: Iterable[str]) -> None:
        self._engine = engine
        self._task_types = tuple(task_types)

    def describe(self) -> Iterable[Metric]:
        # Lets the registry check names without running the query when this is registered.
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        counts = count_by_task_and_status(self._engine)
        task_types = sorted({*self._task_types, *(task_type for task_type, _ in counts)})
        family = self._family()
        for task_type in task_types:
            for status in OPEN_STATUSES:
                family.add_metric([task_type, status], counts.get((task_type, status), 0))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "cl_queue_depth",
            "Jobs waiting for a worker (queued) or running (processing)",
            labels=["task_type", "status"],
        )
