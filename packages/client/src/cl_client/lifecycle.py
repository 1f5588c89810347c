"""``async with`` support shared by the SDK's clients: leaving the block closes the client."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class AsyncCloseable(ABC):
    """``async with client:`` yields the client itself and awaits :meth:`close` on the way out."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and background work."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
