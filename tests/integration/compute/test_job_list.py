"""GET /jobs through a real compute service on SQLite and PostgreSQL: order, cursor pages with
no gaps or repeats, every filter, the attempt/worker_id/created_by fields, and bad requests."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cl_server.compute.job_cursor import INVALID_CURSOR
from cl_server.store import JobStore
from tests.integration.compute.job_ops import (
    DATABASES,
    Database,
    database_url,
    list_jobs,
    post_action,
    stack_on,
    walk_pages,
)
from tests.support.jobs import get_job, submit_ok
from tests.support.media import make_jpeg
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

TASK_TYPES = ("hash", "exif", "media_thumbnail")
JOB_COUNT = 25
Job = dict[str, Any]


@dataclass
class Listing:
    stack: Stack
    jobs: dict[str, Job]
    """Every job as ``GET /jobs/{id}`` shows it once the set-up is done."""

    def newest_first(self, keep: Callable[[Job], bool] = lambda _job: True) -> list[str]:
        chosen = [job for job in self.jobs.values() if keep(job)]
        chosen.sort(key=lambda job: (job["created_at"], job["job_id"]), reverse=True)
        return [job["job_id"] for job in chosen]

    def listed(self, **params: Any) -> list[str]:
        pages = walk_pages(self.stack, **params)
        return [job["job_id"] for page in pages for job in page]


@pytest.fixture(scope="module", params=DATABASES)
def listing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Listing]:
    """25 jobs over 3 task types in every status: completed, failed and processing through the
    store calls a worker makes (so the state is exact), cancelled through the endpoint."""
    database: Database = request.param
    root = tmp_path_factory.mktemp(f"job-list-{database}")
    image = make_jpeg(root / "photo.jpg")
    with stack_on(database, root) as stack:
        ids = [
            submit_ok(stack.compute_url, TASK_TYPES[i % len(TASK_TYPES)], image)
            for i in range(JOB_COUNT)
        ]
        with JobStore.open(database_url(stack)) as store:
            hashes = store.claim("lister-1", ["hash"], limit=4)
            for job in hashes[:3]:
                assert store.complete(job.job_id, job.attempt, {"media_type": "image"})
            assert store.fail(hashes[3].job_id, hashes[3].attempt, "bad input")
            exifs = store.claim("lister-2", ["exif"], limit=3)
            for job in exifs[:2]:
                assert store.fail(job.job_id, job.attempt, "bad input")
        thumbnails = [i for i in ids if get_job(stack.compute_url, i)["task_type"] == TASK_TYPES[2]]
        for job_id in thumbnails[:3]:
            assert post_action(stack, job_id, "cancel").status_code == 200
        jobs = {job_id: get_job(stack.compute_url, job_id) for job_id in ids}
        yield Listing(stack, jobs)


def test_setup_covers_every_status(listing: Listing) -> None:
    counts: dict[str, int] = {}
    for job in listing.jobs.values():
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    assert counts == {"completed": 3, "failed": 3, "processing": 1, "cancelled": 3, "queued": 15}


def test_pages_of_seven_walk_every_job_newest_first(listing: Listing) -> None:
    pages = walk_pages(listing.stack, limit=7)

    assert [len(page) for page in pages] == [7, 7, 7, 4]
    flat = [job["job_id"] for page in pages for job in page]
    assert flat == listing.newest_first()
    assert len(set(flat)) == JOB_COUNT
    # A listed job is the job: same fields as GET /jobs/{id} (which adds a queued job's
    # waiting_reason, a per-job look at the workers the list does not make).
    for page in pages:
        for job in page:
            expected = {**listing.jobs[job["job_id"]], "waiting_reason": None}
            assert job == expected


def test_default_page_holds_everything_and_ends(listing: Listing) -> None:
    body = list_jobs(listing.stack)
    assert [job["job_id"] for job in body["jobs"]] == listing.newest_first()
    assert body["next_cursor"] is None


@pytest.mark.parametrize("status", ["queued", "processing", "completed", "failed", "cancelled"])
def test_status_filter(listing: Listing, status: str) -> None:
    expected = listing.newest_first(lambda job: job["status"] == status)
    assert listing.listed(status=status, limit=2) == expected


def test_several_statuses(listing: Listing) -> None:
    wanted = {"failed", "cancelled", "processing"}
    expected = listing.newest_first(lambda job: job["status"] in wanted)
    # httpx repeats a list-valued parameter: ?status=failed&status=cancelled&...
    assert listing.listed(status=sorted(wanted), limit=3) == expected
    assert len(expected) == 7


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_task_type_filter(listing: Listing, task_type: str) -> None:
    expected = listing.newest_first(lambda job: job["task_type"] == task_type)
    assert listing.listed(task_type=task_type, limit=4) == expected
    assert len(expected) in (8, 9)


def test_created_window_is_inclusive_then_exclusive(listing: Listing) -> None:
    order = listing.newest_first()
    newer = listing.jobs[order[5]]["created_at"]
    older = listing.jobs[order[18]]["created_at"]

    def inside(job: Job) -> bool:
        return bool(older <= job["created_at"] < newer)

    expected = listing.newest_first(inside)
    assert expected, "the window holds jobs"
    assert listing.listed(created_after=older, created_before=newer, limit=5) == expected
    assert listing.listed(created_after=newer + 10**9) == []


def test_combined_filters(listing: Listing) -> None:
    def hash_done(job: Job) -> bool:
        return job["task_type"] == "hash" and job["status"] == "completed"

    assert listing.listed(task_type="hash", status="completed") == listing.newest_first(hash_done)
    assert listing.listed(task_type="exif", status="cancelled") == []


def test_jobs_carry_attempt_worker_and_owner(listing: Listing) -> None:
    by_status: dict[str, list[Job]] = {}
    for job in list_jobs(listing.stack)["jobs"]:
        by_status.setdefault(job["status"], []).append(job)
        assert job["created_by"] is None  # auth disabled: no owners
    assert {(j["attempt"], j["worker_id"]) for j in by_status["completed"]} == {(1, "lister-1")}
    # The worker stays on the record after its lease ended (failed) and while running.
    assert {j["worker_id"] for j in by_status["failed"]} == {"lister-1", "lister-2"}
    assert [(j["attempt"], j["worker_id"]) for j in by_status["processing"]] == [(1, "lister-2")]
    assert {(j["attempt"], j["worker_id"]) for j in by_status["queued"]} == {(0, None)}
    assert {(j["attempt"], j["worker_id"]) for j in by_status["cancelled"]} == {(0, None)}
    assert list_jobs(listing.stack, created_by="1")["jobs"] == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": 501}, "less than or equal to 500"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"status": "running"}, "Input should be"),
        ({"created_after": "yesterday"}, "valid integer"),
    ],
)
def test_invalid_parameters_are_422(
    listing: Listing, params: dict[str, str | int], fragment: str
) -> None:
    response = httpx.get(f"{listing.stack.compute_url}/jobs", params=params)
    assert response.status_code == 422
    assert fragment in response.text


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"no-separator").decode(),
        base64.urlsafe_b64encode(b"soon:some-job").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe:x").decode(),
        "x" * 300,
    ],
)
def test_bad_cursor_is_400(listing: Listing, cursor: str) -> None:
    response = httpx.get(f"{listing.stack.compute_url}/jobs", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json() == {"detail": INVALID_CURSOR}


def test_cursor_is_opaque_and_url_safe(listing: Listing) -> None:
    cursor = list_jobs(listing.stack, limit=3)["next_cursor"]
    assert isinstance(cursor, str) and cursor
    assert all(c.isalnum() or c in "-_" for c in cursor)
