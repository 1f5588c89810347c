"""Jobs this compute service created lately, for consumers that need only a job's fixed facts.

The live feed (owner, task type) and the metrics (task type of a submission) look up the job of
every ``queued`` event. For jobs submitted here the service already holds the record it just
stored, so those lookups need no store read; other jobs (submitted through another compute
instance, or created before a restart) fall back to the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cl_server.metrics.recent import Recent
from cl_server.store import JobRecord

DEFAULT_CAPACITY = 10_000


class CreatedJobs:
    def __init__(
        self, store_lookup: Callable[[str], JobRecord | None], capacity: int = DEFAULT_CAPACITY
    ) -> None:
        self._store_lookup = store_lookup
        self._records: Recent[str, JobRecord] = Recent(capacity)
        self._lock = threading.Lock()  # remembered from request threads, read from feed threads

    def remember(self, record: JobRecord) -> None:
        with self._lock:
            self._records.put(record.job_id, record)

    def facts(self, job_id: str) -> JobRecord | None:
        """The job as created (owner and task type never change), or as the store has it now."""
        with self._lock:
            record = self._records.get(job_id)
        return record if record is not None else self._store_lookup(job_id)
