"""Keeps claimed jobs' leases alive from their own thread, apart from the plugin's CPU work."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cl_server.store import JobStore
from cl_server.worker.background import BackgroundThread

logger = logging.getLogger(__name__)


class LeaseKeeper(BackgroundThread):
    """Renews each lease every ``interval`` s and calls ``on_lost(job_id)`` once for a job that
    is no longer ours (deleted, cancelled, or re-leased to another worker after we stalled).

    A refused renewal is also how a worker learns of a cancel whose MQTT event it missed."""

    thread_name = "lease-keeper"

    def __init__(
        self,
        store: JobStore,
        *,
        worker_id: str,
        leases: dict[str, int],
        interval: float,
        on_lost: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._store = store
        self._worker_id = worker_id
        self._leases = dict(leases)  # job_id -> attempt
        self._interval = interval
        self._on_lost = on_lost

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            for job_id, attempt in list(self._leases.items()):
                try:
                    still_ours = self._store.renew_lease(job_id, self._worker_id, attempt)
                except Exception:  # a database hiccup; try again next round
                    logger.exception("lease renewal for %s failed", job_id)
                    continue
                if not still_ours:
                    logger.warning(
                        "job %s is no longer ours (deleted, cancelled or re-leased)", job_id
                    )
                    del self._leases[job_id]
                    self._on_lost(job_id)
