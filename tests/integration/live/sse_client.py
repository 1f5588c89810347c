"""A small Server-Sent Events reader for tests: parses a real ``GET /events`` response.

A background task reads the stream into a queue, so a test can wait for events with a timeout
without cancelling a read half-way (which would break the response's line iterator).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value

    @property
    def seq(self) -> int:
        assert self.id is not None
        return int(self.id)


class SseStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self.retry_ms: int | None = None
        self.ended = asyncio.Event()
        self.seen: list[SseEvent] = []
        """Every event taken from the queue so far, in order."""
        self._queue: asyncio.Queue[SseEvent] = asyncio.Queue()

    async def next(self, within_s: float = DEFAULT_TIMEOUT_S) -> SseEvent:
        async with asyncio.timeout(within_s):
            event = await self._queue.get()
        self.seen.append(event)
        return event

    async def until(
        self, predicate: Callable[[SseEvent], bool], within_s: float = DEFAULT_TIMEOUT_S
    ) -> SseEvent:
        """Read events until one satisfies ``predicate``; return it (all are in ``seen``)."""
        async with asyncio.timeout(within_s):
            while True:
                event = await self.next(within_s)
                if predicate(event):
                    return event

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        return [e.json() for e in self.seen if e.event == "job" and e.json()["job_id"] == job_id]

    async def pump(self) -> None:
        event, data, event_id = "message", [], None
        try:
            async for line in self.response.aiter_lines():
                if not line:
                    if data:
                        await self._queue.put(SseEvent(event, "\n".join(data), event_id))
                    event, data = "message", []
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "":
                    self.comments.append(value)
                elif field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
                elif field == "retry":
                    self.retry_ms = int(value)
        finally:
            self.ended.set()


@asynccontextmanager
async def open_events(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> AsyncIterator[SseStream]:
    """Connect to ``GET /events`` and read it in the background until the block ends."""
    timeout = httpx.Timeout(10.0, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream("GET", f"{base_url}/events", headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = SseStream(response)
        task = asyncio.create_task(stream.pump())
        try:
            yield stream
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
