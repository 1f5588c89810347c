"""Job lifecycle steps shared by the compute service and workers."""

from __future__ import annotations

import logging

from cl_server.mqtt.events import EventPublisher
from cl_server.store import JobStore

logger = logging.getLogger(__name__)


def requeue_expired_and_notify(store: JobStore, publisher: EventPublisher | None) -> int:
    """Put jobs whose worker vanished back in the queue (or fail them) and tell listeners."""
    changed = store.requeue_expired()
    for job in changed:
        logger.warning(
            "job %s lease expired; now %s (attempt %d)", job.job_id, job.status, job.attempt
        )
        if publisher is not None:
            publisher.job_event(job.job_id, job.status, job.progress)
    return len(changed)
