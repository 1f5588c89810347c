"""A helper thread that lives exactly as long as a ``with`` block."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self


class BackgroundThread:
    """Runs ``_run`` in a daemon thread from ``__enter__``; ``__exit__`` sets ``_done`` and joins.

    ``_run`` should wait on ``_done`` (not sleep) so the block's end stops it at once.
    """

    thread_name = "background"

    def __init__(self) -> None:
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()
