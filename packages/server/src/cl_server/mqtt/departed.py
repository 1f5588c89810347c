"""Workers that left recently, kept for ``GET /workers`` within fixed bounds of age and count."""

from __future__ import annotations

from collections import OrderedDict

from cl_client.models import WorkerInfo

GONE_RETENTION_MS = 60 * 60 * 1000
"""A departed worker is listed for one hour after it left."""
MAX_GONE_WORKERS = 1000
"""At most this many departed workers are kept: a fleet that restarts workers with fresh ids
(for example one per container) must not grow the compute service's memory without limit."""


class DepartedWorkers:
    """Not thread-safe: the worker directory calls it under its own lock."""

    def __init__(
        self, *, retention_ms: int = GONE_RETENTION_MS, max_entries: int = MAX_GONE_WORKERS
    ) -> None:
        self._retention_ms = retention_ms
        self._max_entries = max_entries
        # Ordered by departure, oldest first, so pruning by age or count pops from the front.
        self._entries: OrderedDict[str, WorkerInfo] = OrderedDict()

    def add(self, info: WorkerInfo, now: int) -> None:
        self._entries.pop(info.worker_id, None)
        self._entries[info.worker_id] = info
        self.prune(now)

    def discard(self, worker_id: str) -> None:
        """A worker that came back (same id) is no longer gone."""
        self._entries.pop(worker_id, None)

    def prune(self, now: int) -> None:
        cutoff = now - self._retention_ms
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.last_seen >= cutoff and len(self._entries) <= self._max_entries:
                break
            self._entries.popitem(last=False)

    def list(self, now: int) -> list[WorkerInfo]:
        self.prune(now)
        return list(self._entries.values())
