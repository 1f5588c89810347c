"""Job listing, cancel, retry and the worker registry in the SDK, against the fake server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cl_client import (
    ComputeClient,
    InvalidRequestError,
    JobListResponse,
    JobNotFoundHTTPError,
    MQTTJobMonitor,
    WorkerInfo,
)
from cl_client.job_query import epoch_ms, job_list_params
from tests.unit.client.sdk_fakes import COMPLETED, FakeComputeServer, offline_client

pytestmark = pytest.mark.filterwarnings("error")


def add_jobs(server: FakeComputeServer, count: int) -> list[str]:
    """``count`` jobs, created one second apart (the last one newest)."""
    ids: list[str] = []
    for i in range(count):
        job = server.add_job("hash" if i % 2 else "exif", [COMPLETED if i % 3 else {}])
        job.created_at = 1_700_000_000_000 + i * 1000
        ids.append(job.job_id)
    return ids


async def test_list_jobs_follows_cursors_newest_first() -> None:
    server = FakeComputeServer()
    ids = add_jobs(server, 7)
    async with offline_client(server) as client:
        seen = [job.job_id async for job in client.list_jobs(page_size=3)]
    assert seen == list(reversed(ids))
    assert [q["limit"] for q in server.list_queries] == [["3"], ["3"], ["3"]]
    assert [q.get("cursor") for q in server.list_queries] == [None, ["o3"], ["o6"]]


async def test_list_jobs_sends_filters() -> None:
    server = FakeComputeServer()
    ids = add_jobs(server, 6)
    server.jobs[ids[4]].created_by = "7"
    after = datetime.fromtimestamp(1_700_000_002, tz=UTC)
    async with offline_client(server) as client:
        jobs = [
            job
            async for job in client.list_jobs(
                status=["completed", "queued"],
                task_type="exif",
                created_after=after,
                created_before=1_700_000_005_000,
            )
        ]
        page = await client.list_jobs_page(status="completed", created_by="7", limit=1)
    query = server.list_queries[0]
    assert query["status"] == ["completed", "queued"]
    assert query["task_type"] == ["exif"]
    assert query["created_after"] == ["1700000002000"]
    assert query["created_before"] == ["1700000005000"]
    assert [job.job_id for job in jobs] == [ids[4], ids[2]]
    assert isinstance(page, JobListResponse)
    assert [job.job_id for job in page.jobs] == [ids[4]] and page.next_cursor is None
    assert server.list_queries[1]["created_by"] == ["7"]


async def test_list_jobs_stops_on_an_empty_page_with_a_cursor() -> None:
    # A misbehaving server must not make the iterator spin forever.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jobs": [], "next_cursor": "again"})

    async with ComputeClient(
        "http://compute.test",
        mqtt_monitor=MQTTJobMonitor(connect=False),
        transport=httpx.MockTransport(handler),
    ) as client:
        assert [job async for job in client.list_jobs()] == []


def test_list_params_validation() -> None:
    common = {"task_type": None, "created_by": None, "created_before": None, "cursor": None}
    with pytest.raises(ValueError, match="between 1 and 500"):
        job_list_params(status=None, created_after=None, limit=501, **common)
    with pytest.raises(ValueError):
        job_list_params(status=None, created_after=None, limit=0, **common)
    params = job_list_params(status="failed", created_after=5, limit=10, **common)
    assert params == {"limit": "10", "status": ["failed"], "created_after": "5"}
    assert epoch_ms(datetime(2026, 1, 24, tzinfo=UTC)) == 1_769_212_800_000


async def test_cancel_and_retry() -> None:
    server = FakeComputeServer()
    job = server.add_job("hash", [{"status": "processing", "progress": 30}])
    async with offline_client(server) as client:
        cancelled = await client.cancel_job(job.job_id)
        assert cancelled.status == "cancelled" and cancelled.is_terminal
        assert server.requests[-1].method == "POST"
        assert server.requests[-1].url.path == f"/jobs/{job.job_id}/cancel"

        with pytest.raises(InvalidRequestError) as info:
            await client.cancel_job(job.job_id)
        assert info.value.status_code == 409 and "already cancelled" in info.value.detail

        retried = await client.retry_job(job.job_id)
        assert retried.status == "queued" and retried.job_id == job.job_id
        with pytest.raises(InvalidRequestError, match="only failed or cancelled"):
            await client.retry_job(job.job_id)

        for call in (client.cancel_job, client.retry_job):
            with pytest.raises(JobNotFoundHTTPError) as missing:
                await call("nope")
            assert missing.value.job_id == "nope"


async def test_list_workers() -> None:
    server = FakeComputeServer()
    server.workers = [
        {"worker_id": "w1", "state": "busy", "task_types": ["hash"], "last_seen": 5,
         "current_job_ids": ["j1"], "jobs_done": 3, "future_field": "ignored"},
        {"worker_id": "w2", "state": "gone", "last_seen": 1},
    ]  # fmt: skip
    async with offline_client(server) as client:
        workers = await client.list_workers()
    assert [w.worker_id for w in workers] == ["w1", "w2"]
    assert all(isinstance(w, WorkerInfo) for w in workers)
    assert workers[0].current_job_ids == ["j1"] and workers[0].jobs_done == 3
    assert workers[1].state == "gone" and workers[1].task_types == []
