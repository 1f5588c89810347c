"""The store calls behind GET /jobs, cancel and retry, on SQLite and PostgreSQL: keyset pages,
index-backed list queries, cancel fencing, and the fresh attempt budget of a retried job."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cl_server.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PROCESSING,
    QUEUED,
    JobFilter,
    JobKey,
    JobRecord,
    JobStateError,
    JobStore,
    NewJob,
)
from cl_server.store.job_list import list_statements
from tests.integration.compute.job_ops import DATABASES, Database
from tests.support.postgres import fresh_database_or_skip

pytestmark = pytest.mark.integration

LEASE_MS = 10_000


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database_or_skip("cl_jobops") as url:
        yield url


@pytest.fixture(params=DATABASES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    database: Database = request.param
    if database == "sqlite":
        return f"sqlite:///{tmp_path / 'compute.db'}"
    url: str = request.getfixturevalue("postgres_url")
    with JobStore.open(url) as store, store.engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs"))
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[JobStore]:
    with JobStore.open(store_url, lease_seconds=LEASE_MS / 1000, max_attempts=2) as opened:
        yield opened


def _new(
    store: JobStore,
    *,
    created_at: int = 1_000,
    task_type: str = "hash",
    created_by: str | None = None,
) -> str:
    job_id = str(uuid.uuid4())
    store.create_job(
        NewJob(
            job_id=job_id,
            task_type=task_type,
            params={"input_path": "input/a.jpg"},
            priority=5,
            created_at=created_at,
            created_by=created_by,
        )
    )
    return job_id


def _job(store: JobStore, job_id: str) -> JobRecord:
    job = store.get_job(job_id)
    assert job is not None
    return job


def _walk(store: JobStore, job_filter: JobFilter, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after: JobKey | None = None
    while True:
        page = store.list_jobs(job_filter, limit=limit, after=after)
        pages.append([job.job_id for job in page.jobs])
        if page.next_key is None:
            return pages
        assert page.next_key == page.jobs[-1].key
        after = page.next_key


def _newest_first(store: JobStore, job_ids: list[str]) -> list[str]:
    jobs = [_job(store, job_id) for job_id in job_ids]
    return [job.job_id for job in sorted(jobs, key=lambda j: j.key, reverse=True)]


# -- the list ------------------------------------------------------------------------------


def test_pages_are_newest_first_with_ties_broken_by_job_id(store: JobStore) -> None:
    # Many jobs share a millisecond: the cursor must not lose or repeat any of them.
    ids = [_new(store, created_at=1_000 + (i // 4)) for i in range(18)]

    pages = _walk(store, JobFilter(), limit=5)

    assert [len(page) for page in pages] == [5, 5, 5, 3]
    flat = [job_id for page in pages for job_id in page]
    assert flat == _newest_first(store, ids)
    assert len(set(flat)) == 18


def test_exact_multiple_of_the_page_size_ends_with_no_cursor(store: JobStore) -> None:
    for i in range(6):
        _new(store, created_at=i)
    first = store.list_jobs(JobFilter(), limit=3)
    second = store.list_jobs(JobFilter(), limit=3, after=first.next_key)
    assert first.next_key is not None and second.next_key is None
    assert len(second.jobs) == 3
    assert store.list_jobs(JobFilter(), limit=10).next_key is None


def test_filters_and_several_statuses(store: JobStore) -> None:
    ids = [
        _new(store, created_at=100 + i, task_type=("hash", "exif")[i % 2], created_by=str(i % 3))
        for i in range(12)
    ]
    claimed = store.claim("w1", ["hash"], limit=3, now=500)
    assert store.complete(claimed[0].job_id, claimed[0].attempt, {}) is True
    assert store.fail(claimed[1].job_id, claimed[1].attempt, "broken") is True
    cancelled = store.cancel(ids[1], None)
    assert cancelled is not None

    def expected(predicate: Callable[[JobRecord], bool]) -> list[str]:
        return _newest_first(store, [i for i in ids if predicate(_job(store, i))])

    def listed(job_filter: JobFilter) -> list[str]:
        return [job_id for page in _walk(store, job_filter, limit=2) for job_id in page]

    several = JobFilter(statuses=(FAILED, CANCELLED, QUEUED))
    assert listed(several) == expected(lambda j: j.status in {FAILED, CANCELLED, QUEUED})
    assert listed(JobFilter(statuses=(PROCESSING,))) == [claimed[2].job_id]
    assert listed(JobFilter(task_type="exif")) == expected(lambda j: j.task_type == "exif")
    assert listed(JobFilter(created_by="1")) == expected(lambda j: j.created_by == "1")
    owner_status = JobFilter(created_by="0", statuses=(QUEUED,))
    assert listed(owner_status) == expected(lambda j: j.created_by == "0" and j.status == QUEUED)
    window = JobFilter(created_after=103, created_before=108)
    assert listed(window) == expected(lambda j: 103 <= j.created_at < 108)
    assert listed(JobFilter(task_type="hash", statuses=(COMPLETED,))) == [claimed[0].job_id]
    assert listed(JobFilter(created_by="nobody")) == []


@pytest.mark.parametrize("limit", [0, 501])
def test_page_size_is_bounded(store: JobStore, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.list_jobs(JobFilter(), limit=limit)


# Filter combinations an index is built for (models.py): each must be one index range scan
# that already yields newest-first order, on the first page and behind a cursor.
INDEXED_FILTERS = [
    JobFilter(),
    JobFilter(statuses=(FAILED,)),
    JobFilter(statuses=(FAILED, CANCELLED)),
    JobFilter(task_type="hash"),
    JobFilter(created_by="7"),
    JobFilter(created_by="7", statuses=(QUEUED,)),
    JobFilter(created_after=100, created_before=200),
]


@pytest.mark.parametrize("after", [None, JobKey(150, "m")], ids=["first-page", "deep-page"])
@pytest.mark.parametrize("job_filter", INDEXED_FILTERS, ids=repr)
def test_list_queries_are_index_backed(
    store: JobStore, job_filter: JobFilter, after: JobKey | None
) -> None:
    for i in range(40):
        _new(store, created_at=100 + i, created_by=str(i % 9))
    engine = store.engine
    with engine.begin() as conn:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            # 40 rows fit in one disk page, where a scan and a sort are cheapest; priced out,
            # the planner shows whether an index *can* serve the query in order, which is
            # what it picks on a big table (bench/job_list.py shows it at 100 000 jobs).
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                conn.execute(text(f"SET LOCAL {setting} = off"))
        for statement in list_statements(job_filter, 101, after):
            sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.execute(text(prefix + sql)).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            if postgres:
                assert "Index Scan" in plan, plan
                assert "Seq Scan" not in plan and "Sort" not in plan, plan
            else:
                assert "USING INDEX ix_jobs_list" in plan, plan
                assert "TEMP B-TREE" not in plan, plan  # no sort step for ORDER BY


# -- cancel --------------------------------------------------------------------------------


def test_cancelled_queued_job_is_never_claimed(store: JobStore) -> None:
    job_id = _new(store)

    cancelled = store.cancel(job_id, "cancelled by 7", now=2_000)

    assert cancelled is not None
    assert (cancelled.status, cancelled.completed_at) == (CANCELLED, 2_000)
    assert cancelled.error_message == "cancelled by 7"
    assert store.claim("w1", ["hash"]) == []
    assert _job(store, job_id).attempt == 0
    with pytest.raises(JobStateError) as again:
        store.cancel(job_id, None)
    assert again.value.status == CANCELLED
    assert store.cancel("missing", None) is None


def test_cancel_fences_every_write_of_the_running_worker(store: JobStore) -> None:
    job_id = _new(store)
    (claimed,) = store.claim("w1", ["hash"])
    assert store.report_progress(job_id, claimed.attempt, 40) is True

    cancelled = store.cancel(job_id, None)

    assert cancelled is not None and cancelled.status == CANCELLED
    assert (cancelled.leased_by, cancelled.worker_id, cancelled.progress) == (None, "w1", 40)
    attempt = claimed.attempt
    assert store.renew_lease(job_id, "w1", attempt) is False
    assert store.report_progress(job_id, attempt, 60) is False
    assert store.complete(job_id, attempt, {"media_type": "image"}) is False
    assert store.fail(job_id, attempt, "stopped") is False
    assert store.release(job_id, attempt) is False
    assert store.requeue_expired(now=10**12) == []
    final = _job(store, job_id)
    assert (final.status, final.task_output, final.progress) == (CANCELLED, None, 40)


@pytest.mark.parametrize("status", [COMPLETED, FAILED])
def test_terminal_jobs_cannot_be_cancelled(store: JobStore, status: str) -> None:
    job_id = _new(store)
    (claimed,) = store.claim("w1", ["hash"])
    if status == COMPLETED:
        store.complete(job_id, claimed.attempt, {})
    else:
        store.fail(job_id, claimed.attempt, "bad input")
    with pytest.raises(JobStateError) as refused:
        store.cancel(job_id, None)
    assert refused.value.status == status
    assert _job(store, job_id).status == status


# -- retry ---------------------------------------------------------------------------------


def test_retry_queues_a_new_attempt_with_the_same_input(store: JobStore) -> None:
    job_id = _new(store)
    (first,) = store.claim("w1", ["hash"])
    store.report_progress(job_id, first.attempt, 30)
    store.fail(job_id, first.attempt, "bad input")

    retried = store.retry(job_id, now=9_000)

    assert retried is not None
    assert (retried.status, retried.progress, retried.error_message) == (QUEUED, 0, None)
    assert (retried.started_at, retried.completed_at, retried.updated_at) == (None, None, 9_000)
    assert retried.params == first.params and retried.created_at == first.created_at
    assert retried.attempt == 1 and retried.charged_attempts == 0
    assert retried.worker_id == "w1"  # the last worker, until another one claims it
    (second,) = store.claim("w2", ["hash"])
    assert (second.job_id, second.attempt, second.worker_id) == (job_id, 2, "w2")
    # The first attempt's worker, if it were still around, can no longer write.
    assert store.complete(job_id, first.attempt, {}) is False
    assert store.complete(job_id, second.attempt, {"ok": True}) is True


def test_retry_gives_a_fresh_attempt_budget(store: JobStore) -> None:
    """max_attempts=2: two expired leases fail the job; after a retry it gets two more."""
    job_id = _new(store)
    far = 10**12

    def claim_and_expire() -> JobRecord:
        (claimed,) = store.claim("w1", ["hash"], now=1)
        (changed,) = store.requeue_expired(now=far)
        assert changed.job_id == job_id and changed.attempt == claimed.attempt
        return changed

    assert claim_and_expire().status == QUEUED
    exhausted = claim_and_expire()
    assert exhausted.status == FAILED
    assert exhausted.error_message is not None and "after 2 attempts" in exhausted.error_message

    store.retry(job_id)

    # Attempt 3 overall, but only the first one charged since the retry: back in the queue.
    third = claim_and_expire()
    assert (third.status, third.attempt, third.charged_attempts) == (QUEUED, 3, 1)
    fourth = claim_and_expire()
    assert (fourth.status, fourth.attempt) == (FAILED, 4)
    assert fourth.error_message is not None and "after 2 attempts" in fourth.error_message


def test_retry_counts_releases_as_before(store: JobStore) -> None:
    job_id = _new(store)
    (claimed,) = store.claim("w1", ["hash"])
    store.release(job_id, claimed.attempt)  # a graceful stop: not charged
    (again,) = store.claim("w1", ["hash"])
    store.fail(job_id, again.attempt, "bad input")

    retried = store.retry(job_id)

    assert retried is not None
    assert (retried.attempt, retried.releases, retried.charged_attempts) == (2, 1, 0)


@pytest.mark.parametrize("status", [QUEUED, PROCESSING, COMPLETED])
def test_only_failed_or_cancelled_jobs_can_be_retried(store: JobStore, status: str) -> None:
    job_id = _new(store)
    if status != QUEUED:
        (claimed,) = store.claim("w1", ["hash"])
        if status == COMPLETED:
            store.complete(job_id, claimed.attempt, {})
    with pytest.raises(JobStateError) as refused:
        store.retry(job_id)
    assert refused.value.status == status
    assert store.retry("missing") is None


def test_cancelled_job_can_be_retried_and_completes(store: JobStore) -> None:
    job_id = _new(store)
    store.cancel(job_id, None)
    store.retry(job_id)
    (claimed,) = store.claim("w1", ["hash"])
    assert store.complete(job_id, claimed.attempt, {}) is True
    assert _job(store, job_id).status == COMPLETED
