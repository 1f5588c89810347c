"""One client's event stream, driven directly (no HTTP): visibility, resume, heartbeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from cl_server.compute.access import ANONYMOUS, Caller
from cl_server.compute.errors import NotAuthenticatedError
from cl_server.live.hub import EventHub
from cl_server.live.stream import StreamOptions, event_stream

ALICE = Caller(user_id="1", permissions=["ai_inference_support"])
ADMIN = Caller(user_id="9", is_admin=True)


def job(job_id: str) -> str:
    return json.dumps({"job_id": job_id, "event_type": "queued", "timestamp": 1, "progress": 0})


async def take(stream: AsyncIterator[str], count: int) -> list[str]:
    return [await asyncio.wait_for(anext(stream), 5) for _ in range(count)]


def allowed(caller: Caller) -> Callable[[], Awaitable[Caller]]:
    async def reauthorize() -> Caller:
        return caller

    return reauthorize


async def test_a_non_admin_gets_own_job_events_and_every_worker_event() -> None:
    hub = EventHub(first_seq=1)
    stream = event_stream(hub, ALICE, allowed(ALICE))
    opening = await take(stream, 2)
    assert opening == ["retry: 3000\n\n", 'id: 0\nevent: ready\ndata: {"last_event_id": 0}\n\n']
    hub.publish("job", job("bob-1"), owner="2")
    hub.publish("job", job("unowned"), owner=None)
    hub.publish("job", job("alice-1"), owner="1")
    hub.publish("worker", '{"worker_id": "w"}')
    frames = await take(stream, 2)
    assert frames == [
        f"id: 3\nevent: job\ndata: {job('alice-1')}\n\n",
        'id: 4\nevent: worker\ndata: {"worker_id": "w"}\n\n',
    ]
    await stream.aclose()
    assert hub.subscriber_count == 0


async def test_admins_and_unauthenticated_callers_see_every_job() -> None:
    for caller in (ADMIN, ANONYMOUS):
        hub = EventHub(first_seq=1)
        stream = event_stream(hub, caller, allowed(caller))
        await take(stream, 2)
        hub.publish("job", job("a"), owner="2")
        hub.publish("job", job("b"), owner=None)
        assert [f.split("\n")[0] for f in await take(stream, 2)] == ["id: 1", "id: 2"]
        await stream.aclose()


async def test_resume_replays_after_the_id_and_a_stale_id_resets() -> None:
    hub = EventHub(capacity=2, first_seq=1)
    for name in "abc":
        hub.publish("job", job(name))
    resumed = event_stream(hub, ANONYMOUS, allowed(ANONYMOUS), last_event_id="1")
    frames = await take(resumed, 4)
    assert frames[1].startswith("id: 1\nevent: ready\n")
    assert [f.split("\n")[0] for f in frames[2:]] == ["id: 2", "id: 3"]
    await resumed.aclose()

    stale = event_stream(hub, ANONYMOUS, allowed(ANONYMOUS), last_event_id="0")
    reset = (await take(stale, 2))[1]
    assert reset.startswith("id: 3\nevent: reset\n")
    await stale.aclose()


async def test_heartbeats_recheck_access_and_end_the_stream_when_it_is_gone() -> None:
    hub = EventHub()
    checks: list[int] = []

    async def reauthorize() -> Caller:
        checks.append(1)
        if len(checks) > 1:
            raise NotAuthenticatedError("JWT token has expired")
        return ALICE

    stream = event_stream(hub, ALICE, reauthorize, options=StreamOptions(heartbeat_s=0.05))
    await take(stream, 2)
    assert await take(stream, 1) == [": ping\n\n"]
    denied = await take(stream, 1)
    assert denied == ['event: denied\ndata: {"detail": "JWT token has expired"}\n\n']
    assert [frame async for frame in stream] == []


async def test_closing_the_hub_ends_open_streams() -> None:
    hub = EventHub()
    stream = event_stream(hub, ANONYMOUS, allowed(ANONYMOUS))
    await take(stream, 2)
    hub.close()
    assert [frame async for frame in stream] == []
