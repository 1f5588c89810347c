"""Job lifecycle steps shared by the compute service and workers."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Final

from cl_server.mqtt.events import EventPublisher
from cl_server.store import JobStore

logger = logging.getLogger(__name__)

INPUT_DIR: Final = "input"
"""The one part of a job directory that is not output: the upload (PROTOCOL §3.6)."""


def remove_outputs(job_dir: Path) -> None:
    """Delete everything a plugin wrote for the job and keep ``input/``, so it can run again.

    Anything but ``input/`` counts as output (``output/``, ``faces/``, files a plugin may add
    later): a cancelled or retried job must not show partial results of an earlier attempt.
    """
    try:
        entries = list(job_dir.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name == INPUT_DIR:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


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
