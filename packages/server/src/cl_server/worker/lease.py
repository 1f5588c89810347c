"""Keeps claimed jobs' leases alive from their own thread, apart from the plugin's CPU work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from cl_server.store import JobStore

logger = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews each lease every ``interval`` s and calls ``on_lost(job_id)`` once for a job that
    is no longer ours (deleted, or re-leased to another worker after we stalled)."""

    def __init__(
        self,
        store: JobStore,
        *,
        worker_id: str,
        leases: dict[str, int],
        interval: float,
        on_lost: Callable[[str], None],
    ) -> None:
        self._store = store
        self._worker_id = worker_id
        self._leases = dict(leases)  # job_id -> attempt
        self._interval = interval
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for job_id, attempt in list(self._leases.items()):
                try:
                    still_ours = self._store.renew_lease(job_id, self._worker_id, attempt)
                except Exception:  # a database hiccup; try again next round
                    logger.exception("lease renewal for %s failed", job_id)
                    continue
                if not still_ours:
                    logger.warning("job %s is no longer ours (deleted or re-leased)", job_id)
                    del self._leases[job_id]
                    self._on_lost(job_id)
