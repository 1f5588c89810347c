"""``GET /events`` against the real stack: live job events, resume, worker changes (PROTOCOL §9)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.live.sse_client import SseEvent, SseStream, open_events
from tests.support.jobs import submit_ok
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack
from tests.support.users import create_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("live"), mode="no-auth", workers=1, tasks=["hash"]
    ) as running:
        yield running


async def submit(stack: Stack, image: Path) -> str:
    return await asyncio.to_thread(submit_ok, stack.compute_url, "hash", image)


Predicate = Callable[[SseEvent], bool]


def is_job_event(job_id: str, event_type: str) -> Predicate:
    def matches(event: SseEvent) -> bool:
        return (
            event.event == "job"
            and event.json()["job_id"] == job_id
            and event.json()["event_type"] == event_type
        )

    return matches


async def ready(stream: SseStream) -> SseEvent:
    first = await stream.next()
    assert first.event == "ready", first
    return first


async def test_job_events_arrive_live(stack: Stack, tmp_path: Path) -> None:
    async with open_events(stack.compute_url) as stream:
        opening = await ready(stream)
        assert stream.retry_ms is not None and stream.retry_ms > 0
        job_id = await submit(stack, make_jpeg(tmp_path / "live.jpg"))
        await stream.until(is_job_event(job_id, "completed"))

    events = stream.job_events(job_id)
    kinds = [e["event_type"] for e in events]
    assert kinds[0] == "queued"
    assert "processing" in kinds
    assert kinds[-1] == "completed"
    assert events[-1]["progress"] == 100
    assert all(e["task_type"] == "hash" for e in events)
    assert all(isinstance(e["timestamp"], int) for e in events)
    ids = [e.seq for e in stream.seen]
    assert ids[0] == opening.seq
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_last_event_id_replays_exactly_the_missed_events(
    stack: Stack, tmp_path: Path
) -> None:
    async with open_events(stack.compute_url) as watcher:
        await ready(watcher)
        async with open_events(stack.compute_url) as early:
            left_at = (await ready(early)).seq
        job_id = await submit(stack, make_jpeg(tmp_path / "missed.jpg"))
        await watcher.until(is_job_event(job_id, "completed"))
        missed = [e for e in watcher.seen if e.event != "ready" and e.seq > left_at]

        for how in ("header", "query"):
            headers = {"Last-Event-ID": str(left_at)} if how == "header" else None
            params = {"last_event_id": str(left_at)} if how == "query" else None
            async with open_events(stack.compute_url, headers=headers, params=params) as resumed:
                assert (await ready(resumed)).seq == left_at
                for _ in missed:
                    await resumed.next()
            replayed = [e for e in resumed.seen if e.event != "ready"]
            assert replayed == missed, how
    kinds = [e.json()["event_type"] for e in missed if e.event == "job"]
    assert kinds[0] == "queued" and kinds[-1] == "completed"


async def test_an_id_older_than_the_buffer_or_unknown_resets(stack: Stack) -> None:
    for stale in ("1", "not-a-number"):
        async with open_events(stack.compute_url, headers={"Last-Event-ID": stale}) as stream:
            first = await stream.next()
        assert first.event == "reset", first
        assert first.json()["reason"]
        assert first.id is not None


async def test_worker_events_when_a_worker_starts_and_stops(stack: Stack) -> None:
    async with open_events(stack.compute_url) as stream:
        await ready(stream)
        worker = await asyncio.to_thread(stack.start_worker, ["hash"], "live-events-worker")

        def about_worker(state: str) -> Predicate:
            def matches(event: SseEvent) -> bool:
                data = event.json() if event.event == "worker" else {}
                return data.get("worker_id") == worker.worker_id and data.get("state") == state

            return matches

        arrived = await stream.until(about_worker("idle"), within_s=60)
        assert arrived.json()["task_types"] == ["hash"]
        assert await asyncio.to_thread(worker.terminate) == 0
        gone = await stream.until(about_worker("gone"))
    assert gone.json()["current_job_id"] is None


def test_events_need_the_jobs_check_when_enforced(enforced: Stack) -> None:
    response = httpx.get(f"{enforced.compute_url}/events", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required"}
    forged = httpx.get(f"{enforced.compute_url}/events", params={"access_token": "x"}, timeout=10)
    assert forged.status_code == 401
    assert forged.json() == {"detail": "Could not validate credentials"}


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("live-enforced"), mode="enforced", workers=1, tasks=["hash"]
    ) as running:
        yield running


async def test_a_non_admin_sees_only_their_own_jobs(enforced: Stack, tmp_path: Path) -> None:
    alice, bob = create_user(enforced, "alice-live"), create_user(enforced, "bob-live")
    admin = enforced.admin_token()
    image = make_jpeg(tmp_path / "owned.jpg")
    url = enforced.compute_url

    async def submit_as(token: str) -> str:
        headers = {"Authorization": f"Bearer {token}"}
        return await asyncio.to_thread(submit_ok, url, "hash", image, headers=headers)

    async with (
        open_events(url, headers={"Authorization": f"Bearer {admin}"}) as everyone,
        open_events(url, params={"access_token": alice}) as alices,
        open_events(url, headers={"Authorization": f"Bearer {bob}"}) as bobs,
    ):
        for stream in (everyone, alices, bobs):
            await ready(stream)

        def republished(job_id: str) -> Predicate:
            # The terminal event is sent twice (PROTOCOL §5.3); the second is a job's last.
            done = is_job_event(job_id, "completed")
            return lambda event: done(event) and sum(map(done, everyone.seen)) >= 2

        alices_job = await submit_as(alice)
        await everyone.until(republished(alices_job))
        bobs_job = await submit_as(bob)
        # Every event of alice's job was in the hub before bob's job existed, so by the time bob's
        # stream shows his job, it has passed over all of hers.
        await bobs.until(is_job_event(bobs_job, "completed"))
        await everyone.until(republished(bobs_job))
        later_job = await submit_as(alice)
        await alices.until(is_job_event(later_job, "queued"))

    assert bobs.job_events(alices_job) == []
    assert bobs.job_events(bobs_job)[0]["event_type"] == "queued"
    assert alices.job_events(bobs_job) == []
    assert alices.job_events(alices_job)[-1]["event_type"] == "completed"
    assert everyone.job_events(alices_job) and everyone.job_events(bobs_job)
