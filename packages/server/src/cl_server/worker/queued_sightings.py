"""Which ``queued`` events a worker has seen, so its ``processing`` never overtakes them.

The compute service commits a job and then publishes ``queued``. A worker that polls the store in
that gap (its idle timer fires, or it has just finished a job) would otherwise announce
``processing`` first, and subscribers would see the job go backwards. Workers already subscribe
to job events (a ``queued`` event is what wakes them), so before announcing a fresh job a worker
waits, briefly, until it has seen that job's ``queued`` event pass through the broker.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection

DEFAULT_CAPACITY = 10_000


class QueuedSightings:
    """A bounded memory of job ids whose ``queued`` event arrived, with a wait for more."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._arrived = threading.Condition()

    def saw(self, job_id: str) -> None:
        with self._arrived:
            self._seen[job_id] = None
            self._seen.move_to_end(job_id)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            self._arrived.notify_all()

    def wait_for(self, job_ids: Collection[str], timeout: float) -> bool:
        """Block until every id in ``job_ids`` was seen or ``timeout`` passes; whether all were."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: all(job_id in self._seen for job_id in job_ids), timeout
            )
