"""JobStore behaviour against real databases (SQLite file and PostgreSQL; see conftest)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from cl_server.store import COMPLETED, FAILED, PROCESSING, QUEUED, JobStore, NewJob

pytestmark = pytest.mark.integration

LEASE_MS = 10_000  # the ``store`` fixture opens with lease_seconds=10


def _new(
    store: JobStore,
    task_type: str = "hash",
    *,
    priority: int = 5,
    created_at: int = 1_000,
    params: dict[str, object] | None = None,
) -> str:
    job_id = str(uuid.uuid4())
    store.create_job(
        NewJob(
            job_id=job_id,
            task_type=task_type,
            params=params if params is not None else {"input_path": "input/a.jpg"},
            priority=priority,
            created_at=created_at,
        )
    )
    return job_id


def test_create_get_delete(store: JobStore) -> None:
    params = {"input_path": "input/a.jpg", "output_path": "output/hash.json", "algorithm": "md5"}
    created = store.create_job(
        NewJob(job_id="job-1", task_type="hash", params=params, priority=7, created_at=1234)
    )
    assert created.status == QUEUED
    assert (created.progress, created.attempt, created.releases) == (0, 0, 0)
    assert created.task_output is None and created.error_message is None
    assert created.started_at is None and created.completed_at is None

    fetched = store.get_job("job-1")
    assert fetched == created
    assert fetched is not None and fetched.params == params and fetched.priority == 7
    assert fetched.to_response().created_at == 1234

    assert store.get_job("missing") is None
    assert store.delete_job("job-1") is True
    assert store.get_job("job-1") is None
    assert store.delete_job("job-1") is False


def test_get_jobs_reads_the_existing_ones_by_id(store: JobStore) -> None:
    first, second = _new(store), _new(store, "exif")
    found = store.get_jobs([first, "missing", second])
    assert found == {first: store.get_job(first), second: store.get_job(second)}
    assert found[second].task_type == "exif"
    assert store.get_jobs([]) == {}


def test_claim_order_is_priority_then_age(store: JobStore) -> None:
    low_old = _new(store, priority=1, created_at=100)
    high_new = _new(store, priority=9, created_at=300)
    mid_new = _new(store, priority=5, created_at=250)
    mid_old = _new(store, priority=5, created_at=200)

    order = [store.claim("w1", ["hash"], now=1_000)[0].job_id for _ in range(4)]

    assert order == [high_new, mid_old, mid_new, low_old]
    assert store.claim("w1", ["hash"], now=1_000) == []


def test_claim_takes_only_requested_types(store: JobStore) -> None:
    exif_job = _new(store, "exif", priority=10)
    hash_job = _new(store, "hash", priority=0)

    assert store.has_queued(["hash"]) and store.has_queued(["exif", "clip_embedding"])
    assert not store.has_queued(["clip_embedding"]) and not store.has_queued([])
    assert store.claim("w1", ["clip_embedding"]) == []
    assert store.claim("w1", []) == []

    claimed = store.claim("w1", ["hash"])
    assert [job.job_id for job in claimed] == [hash_job]
    assert not store.has_queued(["hash"])
    assert [job.job_id for job in store.claim("w1", ["exif", "hash"])] == [exif_job]


def test_claim_rejects_nonpositive_limit(store: JobStore) -> None:
    _new(store)
    with pytest.raises(ValueError, match="limit"):
        store.claim("w1", ["hash"], limit=0)


def test_claim_sets_lease_and_counts_attempt(store: JobStore) -> None:
    job_id = _new(store)

    [claimed] = store.claim("worker-a", ["hash"], now=5_000)

    assert claimed.job_id == job_id
    assert claimed.status == PROCESSING and claimed.progress == 0
    assert claimed.started_at == 5_000 and claimed.updated_at == 5_000
    assert claimed.leased_by == "worker-a"
    assert claimed.lease_expires_at == 5_000 + LEASE_MS
    assert claimed.attempt == 1
    assert store.get_job(job_id) == claimed


def test_batch_claim_is_homogeneous(store: JobStore) -> None:
    hash_a = _new(store, "hash", priority=5, created_at=1)
    clip_top = _new(store, "clip_embedding", priority=9, created_at=2)
    clip_low = _new(store, "clip_embedding", priority=1, created_at=3)
    hash_b = _new(store, "hash", priority=5, created_at=4)
    clip_mid = _new(store, "clip_embedding", priority=5, created_at=5)

    first = store.claim("w1", ["hash", "clip_embedding"], limit=3, now=10)
    second = store.claim("w1", ["hash", "clip_embedding"], limit=3, now=10)

    assert [job.job_id for job in first] == [clip_top, clip_mid, clip_low]
    assert [job.job_id for job in second] == [hash_a, hash_b]
    assert all(job.status == PROCESSING and job.leased_by == "w1" for job in first + second)


def test_batch_claim_respects_limit(store: JobStore) -> None:
    ids = [_new(store, "dino_embedding", created_at=t) for t in range(5)]

    batch = store.claim("w1", ["dino_embedding"], limit=2)

    assert [job.job_id for job in batch] == ids[:2]
    assert store.count_jobs() == 5
    assert store.has_queued(["dino_embedding"])


def test_progress_is_clamped_and_needs_current_attempt(store: JobStore) -> None:
    job_id = _new(store)
    assert store.report_progress(job_id, 0, 50) is False  # still queued

    [job] = store.claim("w1", ["hash"])
    assert store.report_progress(job_id, job.attempt, 0) is True
    assert _progress(store, job_id) == 1
    assert store.report_progress(job_id, job.attempt, 150) is True
    assert _progress(store, job_id) == 99
    assert store.report_progress(job_id, job.attempt, 42) is True
    assert _progress(store, job_id) == 42
    assert store.report_progress(job_id, job.attempt + 1, 60) is False
    assert _progress(store, job_id) == 42


def _progress(store: JobStore, job_id: str) -> int:
    job = store.get_job(job_id)
    assert job is not None
    return job.progress


def test_complete_sets_output_and_clears_lease(store: JobStore) -> None:
    job_id = _new(store)
    [job] = store.claim("w1", ["hash"])
    output = {"hash": "abc", "algorithm": "md5", "nested": {"values": [1, 2.5, None]}}

    assert store.complete(job_id, job.attempt, output) is True

    done = store.get_job(job_id)
    assert done is not None
    assert done.status == COMPLETED and done.progress == 100
    assert done.task_output == output
    assert done.completed_at is not None and done.error_message is None
    assert done.leased_by is None and done.lease_expires_at is None
    # A terminal job accepts no further writes.
    assert store.complete(job_id, job.attempt, {"hash": "other"}) is False
    assert store.fail(job_id, job.attempt, "late failure") is False


def test_fail_keeps_progress_and_stores_null_output(store: JobStore) -> None:
    job_id = _new(store)
    [job] = store.claim("w1", ["hash"])
    store.report_progress(job_id, job.attempt, 30)

    assert store.fail(job_id, job.attempt, "Cannot read image: truncated file") is True

    failed = store.get_job(job_id)
    assert failed is not None
    assert failed.status == FAILED and failed.progress == 30
    assert failed.error_message == "Cannot read image: truncated file"
    assert failed.task_output is None and failed.completed_at is not None
    with store.engine.connect() as conn:
        is_null = conn.execute(
            text("SELECT task_output IS NULL FROM jobs WHERE job_id = :id"), {"id": job_id}
        ).scalar_one()
    assert bool(is_null)  # SQL NULL, not the JSON text "null"


def test_renew_lease(store: JobStore) -> None:
    job_id = _new(store)
    [job] = store.claim("w1", ["hash"], now=1_000)

    assert store.renew_lease(job_id, "w1", job.attempt, now=8_000) is True
    renewed = store.get_job(job_id)
    assert renewed is not None and renewed.lease_expires_at == 8_000 + LEASE_MS

    assert store.renew_lease(job_id, "w2", job.attempt, now=9_000) is False
    assert store.renew_lease(job_id, "w1", job.attempt + 1, now=9_000) is False
    unchanged = store.get_job(job_id)
    assert unchanged is not None and unchanged.lease_expires_at == 8_000 + LEASE_MS


def test_requeue_expired_puts_job_back(store: JobStore) -> None:
    job_id = _new(store)
    running_id = _new(store, created_at=2_000)
    [job] = store.claim("w1", ["hash"], now=1_000)
    [running] = store.claim("w2", ["hash"], now=5_000)
    assert running.job_id == running_id
    expiry = 1_000 + LEASE_MS

    assert store.requeue_expired(now=expiry) == []  # expires strictly after the lease end
    changed = store.requeue_expired(now=expiry + 1)

    assert [record.job_id for record in changed] == [job_id]
    [requeued] = changed
    assert requeued == store.get_job(job_id)
    assert requeued.status == QUEUED and requeued.progress == 0
    assert requeued.leased_by is None and requeued.lease_expires_at is None
    assert requeued.started_at is None and requeued.attempt == job.attempt
    still_running = store.get_job(running_id)
    assert still_running is not None and still_running.status == PROCESSING

    [again] = store.claim("w3", ["hash"], now=expiry + 2)
    assert again.job_id == job_id and again.attempt == 2 and again.leased_by == "w3"


def test_attempts_are_bounded(store: JobStore) -> None:
    job_id = _new(store)
    now = 1_000
    changed = []
    for attempt in (1, 2, 3):
        [job] = store.claim(f"w{attempt}", ["hash"], now=now)
        assert job.attempt == attempt
        now += LEASE_MS + 1
        changed = store.requeue_expired(now=now)
        assert [record.job_id for record in changed] == [job_id]

    [final] = changed
    assert final.status == FAILED
    assert final.error_message == (
        "Job failed after 3 attempts: worker lease expired (last worker: w3)"
    )
    assert final.completed_at == now and final.task_output is None
    assert store.get_job(job_id) == final
    assert store.claim("w4", ["hash"], now=now) == []
    assert store.requeue_expired(now=now + 10 * LEASE_MS) == []


def test_stale_attempt_cannot_write(store: JobStore) -> None:
    job_id = _new(store)
    [old] = store.claim("w1", ["hash"], now=1_000)
    store.requeue_expired(now=1_000 + LEASE_MS + 1)
    [new] = store.claim("w2", ["hash"], now=1_000 + LEASE_MS + 2)
    assert new.attempt == old.attempt + 1

    assert store.report_progress(job_id, old.attempt, 70) is False
    assert store.complete(job_id, old.attempt, {"from": "stale"}) is False
    assert store.fail(job_id, old.attempt, "stale failure") is False
    assert store.release(job_id, old.attempt) is False
    assert store.renew_lease(job_id, "w1", old.attempt) is False

    current = store.get_job(job_id)
    assert current is not None and current.status == PROCESSING and current.leased_by == "w2"
    assert store.complete(job_id, new.attempt, {"from": "w2"}) is True
    done = store.get_job(job_id)
    assert done is not None and done.task_output == {"from": "w2"}


def test_release_does_not_consume_an_attempt(store_url: str) -> None:
    with JobStore.open(store_url, lease_seconds=10.0, max_attempts=1) as store:
        job_id = _new(store)
        [first] = store.claim("w1", ["hash"], now=1_000)
        store.report_progress(job_id, first.attempt, 40)

        assert store.release(job_id, first.attempt) is True
        released = store.get_job(job_id)
        assert released is not None
        assert released.status == QUEUED and released.progress == 0
        assert released.leased_by is None and released.lease_expires_at is None
        assert (released.attempt, released.releases, released.charged_attempts) == (1, 1, 0)
        assert store.release(job_id, first.attempt) is False  # no longer processing

        # With max_attempts=1 the job still gets its one real attempt.
        [second] = store.claim("w2", ["hash"], now=2_000)
        assert second.attempt == 2 and second.charged_attempts == 1
        # The released claim's attempt number is not reused, so its late writes stay refused.
        assert store.complete(job_id, first.attempt, {"late": True}) is False

        [failed] = store.requeue_expired(now=2_000 + LEASE_MS + 1)
        assert failed.status == FAILED
        assert failed.error_message == (
            "Job failed after 1 attempts: worker lease expired (last worker: w2)"
        )


def test_guest_mode_defaults_on_and_persists(store_url: str) -> None:
    with JobStore.open(store_url) as store:
        config = store.get_config()
        assert (config.guest_mode, config.updated_at, config.updated_by) == (True, None, None)

        changed = store.set_guest_mode(False, "42", now=1_700_000_000_000)
        assert (changed.guest_mode, changed.updated_at, changed.updated_by) == (
            False,
            1_700_000_000_000,
            "42",
        )

    with JobStore.open(store_url) as reopened:
        assert reopened.get_config() == changed
        back_on = reopened.set_guest_mode(True, None, now=1_700_000_000_001)
        assert back_on.guest_mode is True and back_on.updated_by is None
        assert reopened.get_config() == back_on


def test_jobs_persist_across_reopen(store_url: str) -> None:
    with JobStore.open(store_url) as store:
        job_id = _new(store, params={"input_path": "input/ü.png", "values": [1, 2]})
        before = store.get_job(job_id)
    with JobStore.open(store_url) as reopened:
        assert reopened.get_job(job_id) == before
        assert reopened.count_jobs() == 1


def test_cleanup_helpers(store: JobStore) -> None:
    old = [_new(store, created_at=t) for t in (100, 200, 300)]
    new = [_new(store, created_at=t) for t in (400, 500)]

    assert store.count_jobs() == 5
    assert sorted(store.all_job_ids()) == sorted(old + new)
    assert [job.job_id for job in store.list_jobs_created_before(400)] == old
    assert store.list_jobs_created_before(100) == []

    # More ids than one DELETE statement takes: unknown ids are ignored, chunks add up.
    unknown = [f"missing-{i}" for i in range(1_100)]
    assert store.delete_jobs([*unknown[:600], old[0], *unknown[600:], old[2], old[1]]) == 3
    assert sorted(store.all_job_ids()) == sorted(new)
    assert store.count_jobs() == 2
    assert store.delete_jobs([]) == 0


def test_deleted_job_rejects_worker_writes(store: JobStore) -> None:
    job_id = _new(store)
    [job] = store.claim("w1", ["hash"])
    assert store.delete_job(job_id)
    assert store.report_progress(job_id, job.attempt, 10) is False
    assert store.complete(job_id, job.attempt, {}) is False
    assert store.renew_lease(job_id, "w1", job.attempt) is False
