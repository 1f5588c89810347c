"""Polling delays: start at an interval, grow by a factor each round, never exceed a cap."""

from __future__ import annotations

from cl_client.config import ComputeClientConfig


class PollBackoff:
    """Delays ``initial, initial*m, initial*m², ...`` capped at ``maximum`` (PROTOCOL §7.3)."""

    def __init__(
        self,
        initial: float = ComputeClientConfig.DEFAULT_POLL_INTERVAL,
        multiplier: float = ComputeClientConfig.POLL_BACKOFF_MULTIPLIER,
        maximum: float = ComputeClientConfig.MAX_POLL_BACKOFF,
    ) -> None:
        if initial <= 0:
            raise ValueError(f"poll interval must be positive, got {initial}")
        if multiplier < 1:
            raise ValueError(f"backoff multiplier must be >= 1, got {multiplier}")
        self.initial: float = initial
        self.multiplier: float = multiplier
        # A poll interval larger than the default cap is honoured rather than silently shortened.
        self.maximum: float = max(maximum, initial)
        self._next: float = initial

    def next_delay(self) -> float:
        """The delay to sleep now; the following call returns the grown one."""
        delay = self._next
        self._next = min(self._next * self.multiplier, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial
