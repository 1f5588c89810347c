"""Claims are atomic: threads and processes hammer one database; no job is claimed twice."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from cl_server.store import PROCESSING, JobRecord, JobStore, NewJob

pytestmark = pytest.mark.integration

JOBS = 200
THREADS = 4
PROCESSES = 2
CLAIMER = Path(__file__).with_name("store_claimer.py")


def _claim_until_empty(
    store: JobStore, worker_id: str, seed: int, start: threading.Barrier, out: list[JobRecord]
) -> None:
    rng = random.Random(seed)
    start.wait(timeout=60)
    while batch := store.claim(worker_id, ["hash", "exif"], limit=rng.randint(1, 4)):
        # A batch is always of one task type.
        assert len({job.task_type for job in batch}) == 1
        out.extend(batch)


def test_each_job_is_claimed_exactly_once(store: JobStore, store_url: str) -> None:
    for i in range(JOBS):
        store.create_job(
            NewJob(
                job_id=f"job-{i:03d}",
                task_type="hash" if i % 3 else "exif",
                params={"i": i},
                priority=i % 11,
                created_at=1_000 + i,
            )
        )

    procs = [
        subprocess.Popen(
            [sys.executable, str(CLAIMER), store_url, f"proc-{n}", str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            ready = proc.stdout.readline().strip()
            assert ready == "ready", proc.stderr.read() if proc.stderr else ready

        start = threading.Barrier(THREADS + 1)
        results: list[list[JobRecord]] = [[] for _ in range(THREADS)]
        errors: list[BaseException] = []

        def run(n: int) -> None:
            try:
                _claim_until_empty(store, f"thread-{n}", 100 + n, start, results[n])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        start.wait(timeout=60)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for thread in threads:
            thread.join(timeout=90)
        outputs = [proc.communicate(timeout=90) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert errors == []
    claimed_by: dict[str, list[str]] = {}
    for n, batch in enumerate(results):
        claimed_by[f"thread-{n}"] = [job.job_id for job in batch]
    for n, (proc, (out, err)) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, err
        claimed_by[f"proc-{n}"] = json.loads(out)

    counts = Counter(job_id for ids in claimed_by.values() for job_id in ids)
    assert len(counts) == JOBS
    assert set(counts.values()) == {1}
    # The database agrees on who holds each job.
    for worker_id, ids in claimed_by.items():
        for job_id in ids:
            job = store.get_job(job_id)
            assert job is not None
            assert (job.status, job.leased_by, job.attempt) == (PROCESSING, worker_id, 1)
