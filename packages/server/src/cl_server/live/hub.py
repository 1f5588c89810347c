"""The in-memory feed behind ``GET /events``: a numbered ring buffer and the streams reading it.

Producers (the MQTT job-event feed, the worker directory's listener) run in their own threads and
call ``publish``; every open stream keeps its own cursor (the last sequence number it sent) and
reads what lies after it. One buffer for all streams means a slow client costs no memory of its
own, and a resuming client (``Last-Event-ID``) is served from the same place as a live one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Generator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal

DEFAULT_CAPACITY = 10_000

EventKind = Literal["job", "worker"]


@dataclass(frozen=True, slots=True)
class LiveEvent:
    seq: int
    kind: EventKind
    data: str
    """The JSON text sent as the SSE ``data`` line (serialised once, for every stream)."""
    owner: str | None = None
    """``created_by`` of the job a job event is about; worker events have none."""


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[LiveEvent]
    """Events after the cursor, oldest first."""
    lost: bool
    """The cursor is not in this hub's range (older than the buffer, or from another run):
    the client missed events and must reload its state."""


class _Wakeup:
    """An ``asyncio.Event`` that producer threads can set on the stream's own loop."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def set_threadsafe(self) -> None:
        # A closed loop raises RuntimeError: its stream is gone with it.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.event.set)


class EventHub:
    """Thread-safe: ``publish`` from any thread, ``subscription`` from an asyncio task."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, first_seq: int | None = None) -> None:
        self._buffer: deque[LiveEvent] = deque(maxlen=capacity)
        # Numbering starts at the current time in microseconds, so a restarted service numbers
        # above every id of its previous run: a browser resuming with an old id gets a reset
        # instead of a replay of unrelated events that happen to carry the same numbers.
        self._next_seq = first_seq if first_seq is not None else time.time_ns() // 1000
        self._lock = threading.Lock()
        self._wakeups: set[_Wakeup] = set()
        self._closed = False

    @property
    def latest_seq(self) -> int:
        """The number of the newest event (one below the first, before any event)."""
        with self._lock:
            return self._next_seq - 1

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._wakeups)

    def publish(self, kind: EventKind, data: str, *, owner: str | None = None) -> LiveEvent:
        with self._lock:
            event = LiveEvent(self._next_seq, kind, data, owner)
            self._next_seq += 1
            self._buffer.append(event)
            wakeups = list(self._wakeups)
        for wakeup in wakeups:
            wakeup.set_threadsafe()
        return event

    def after(self, cursor: int) -> Replay:
        """The buffered events numbered above ``cursor``."""
        with self._lock:
            latest = self._next_seq - 1
            oldest = self._buffer[0].seq if self._buffer else self._next_seq
            if cursor > latest or cursor < oldest - 1:
                return Replay([], lost=True)
            newer: list[LiveEvent] = []
            # Walk from the newest end: a live stream is usually only a few events behind.
            for event in reversed(self._buffer):
                if event.seq <= cursor:
                    break
                newer.append(event)
        newer.reverse()
        return Replay(newer, lost=False)

    @contextmanager
    def subscription(self) -> Generator[asyncio.Event]:
        """An event set whenever something is published or the hub closes; clear it before
        reading with ``after`` so nothing published in between is missed."""
        wakeup = _Wakeup()
        with self._lock:
            self._wakeups.add(wakeup)
            if self._closed:
                wakeup.event.set()
        try:
            yield wakeup.event
        finally:
            with self._lock:
                self._wakeups.discard(wakeup)

    def close(self) -> None:
        """End every stream (at service shutdown); later subscriptions end at once too."""
        with self._lock:
            self._closed = True
            wakeups = list(self._wakeups)
        for wakeup in wakeups:
            wakeup.set_threadsafe()
