"""One client's ``GET /events`` stream: replay after its cursor, then live events, heartbeats.

The stream opens with ``retry:`` and one event that says where it starts: ``ready`` (the events
after ``Last-Event-ID``, or from now on, follow) or ``reset`` (the id is older than the buffer or
unknown: reload the state, then carry on with what follows). Each heartbeat re-checks the
caller's access, so an expired token or guest mode switched off ends the stream (with a
``denied`` event) instead of leaving it open for good.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from cl_server.compute.access import Caller, may_access
from cl_server.compute.errors import ApiError
from cl_server.live import sse
from cl_server.live.hub import EventHub, LiveEvent

Reauthorize = Callable[[], Awaitable[Caller]]
"""Checks the stream's credentials again; raises ``ApiError`` once they no longer pass."""

DEFAULT_HEARTBEAT_S = 15.0
DEFAULT_RETRY_MS = 3000


@dataclass(frozen=True)
class StreamOptions:
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    retry_ms: int = DEFAULT_RETRY_MS


def visible(event: LiveEvent, caller: Caller) -> bool:
    """Job events follow job ownership (as ``GET /jobs/{id}`` does); worker events are for all."""
    return event.kind != "job" or may_access(caller, event.owner)


def _starting_cursor(hub: EventHub, last_event_id: str | None) -> tuple[int, str | None]:
    """Where to start, and why the client must reset (``None`` when it need not)."""
    if last_event_id is None or not last_event_id.strip():
        return hub.latest_seq, None
    try:
        cursor = int(last_event_id)
    except ValueError:
        return hub.latest_seq, "Last-Event-ID is not an event id of this server"
    if hub.after(cursor).lost:
        return hub.latest_seq, "events after Last-Event-ID are no longer buffered"
    return cursor, None


def _reset(cursor: int, reason: str) -> str:
    return sse.message("reset", json.dumps({"reason": reason}), event_id=cursor)


async def event_stream(
    hub: EventHub,
    caller: Caller,
    reauthorize: Reauthorize,
    *,
    last_event_id: str | None = None,
    options: StreamOptions | None = None,
) -> AsyncIterator[str]:
    options = options or StreamOptions()
    loop = asyncio.get_running_loop()
    # Subscribed before the cursor is read, so nothing published in between goes unnoticed.
    with hub.subscription() as wakeup:
        cursor, reset_reason = _starting_cursor(hub, last_event_id)
        yield sse.retry(options.retry_ms)
        if reset_reason is not None:
            yield _reset(cursor, reset_reason)
        else:
            ready = json.dumps({"last_event_id": cursor})
            yield sse.message("ready", ready, event_id=cursor)
        next_check = loop.time() + options.heartbeat_s
        while True:
            wakeup.clear()
            replay = hub.after(cursor)
            if replay.lost:  # this client read so slowly that the buffer overtook it
                cursor = hub.latest_seq
                yield _reset(cursor, "the client fell behind the event buffer")
                continue
            for event in replay.events:
                cursor = event.seq
                if visible(event, caller):
                    yield sse.message(event.kind, event.data, event_id=event.seq)
            if hub.closed:
                return
            remaining = next_check - loop.time()
            if remaining > 0:
                with suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await wakeup.wait()
                continue
            try:
                caller = await reauthorize()
            except ApiError as exc:
                yield sse.message("denied", json.dumps({"detail": exc.detail}))
                return
            yield sse.comment("ping")
            next_check = loop.time() + options.heartbeat_s
