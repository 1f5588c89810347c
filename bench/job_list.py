"""Job list speed: GET /jobs pages over 100 000 jobs, on SQLite and PostgreSQL.

For each backend: bulk-insert the jobs through the store's engine, then time the first page and
a deep page (a cursor 90 % of the way down) for no filter, a status filter, a task_type filter
and a created_by filter, both through ``JobStore.list_jobs`` and through the HTTP endpoint of a
real compute service (uvicorn on a free port). Each figure is the median of ``--runs`` calls.
Baselines measured in the same run: a primary-key lookup (``JobStore.get_job``; over HTTP
``GET /jobs/{id}``), and the deep status page with its indexes switched off. The plan each
query gets (EXPLAIN) is printed beside it. Target: every page under 50 ms.

Run: ``uv run python bench/job_list.py [--jobs 100000] [--runs 25] [--limit 100]``
(PostgreSQL from ``CL_TEST_POSTGRES_URL``, default the local trust-auth server; skipped with
a message when it does not answer.)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_server.broker import EmbeddedBroker  # noqa: E402
from cl_server.compute.app import create_app  # noqa: E402
from cl_server.compute.job_cursor import encode_cursor  # noqa: E402
from cl_server.settings import ComputeSettings  # noqa: E402
from cl_server.store import JobFilter, JobKey, JobStore  # noqa: E402
from cl_server.store.job_list import list_statements  # noqa: E402
from cl_server.store.models import JobRow  # noqa: E402
from tests.support.postgres import PostgresUnavailableError, fresh_database  # noqa: E402
from tests.support.uvicorn_thread import serve_app  # noqa: E402

TASK_TYPES = ("clip_embedding", "dino_embedding", "exif", "face_detection", "face_embedding",
              "hash", "hls_streaming", "image_conversion", "media_thumbnail")  # fmt: skip
# Mostly finished work, as in a long-running deployment.
STATUS_WEIGHTS = {"completed": 80, "failed": 10, "cancelled": 5, "queued": 4, "processing": 1}
USERS = 50
INSERT_CHUNK = 5_000
TARGET_MS = 50.0


@dataclass(frozen=True)
class Case:
    name: str
    job_filter: JobFilter
    query: dict[str, str]


CASES = (
    Case("no filter", JobFilter(), {}),
    Case("status=failed", JobFilter(statuses=("failed",)), {"status": "failed"}),
    Case("task_type=hash", JobFilter(task_type="hash"), {"task_type": "hash"}),
    Case("created_by=user-7", JobFilter(created_by="user-7"), {"created_by": "user-7"}),
)


def median_ms(call: Callable[[], object], runs: int) -> float:
    for _ in range(3):  # warm caches and connections
        call()
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fake_rows(count: int, seed: int = 7) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(seed)
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=count)
    base = 1_700_000_000_000
    chunk: list[dict[str, Any]] = []
    for i, status in enumerate(statuses):
        created = base + i * 7 + rng.randint(0, 3)  # near-sorted, with ties
        started = created + 5 if status != "queued" else None
        done = created + 900 if status in ("completed", "failed", "cancelled") else None
        chunk.append(
            {
                "job_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "task_type": rng.choice(TASK_TYPES),
                "status": status,
                "progress": 100 if status == "completed" else 0,
                "params": {"input_path": "input/photo.jpg", "output_path": "output/x.json"},
                "task_output": {"media_type": "image"} if status == "completed" else None,
                "error_message": "bad input" if status == "failed" else None,
                "priority": 5,
                "created_at": created,
                "updated_at": done or created,
                "started_at": started,
                "completed_at": done,
                "attempt": 0 if status == "queued" else 1,
                "releases": 0,
                "forgiven_attempts": 0,
                "leased_by": "w-1" if status == "processing" else None,
                "lease_expires_at": None,
                "worker_id": None if status == "queued" else f"w-{rng.randint(1, 8)}",
                "created_by": f"user-{rng.randint(1, USERS)}",
            }
        )
        if len(chunk) == INSERT_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_insert(store: JobStore, count: int) -> float:
    start = time.perf_counter()
    with store.engine.begin() as conn:
        for chunk in fake_rows(count):
            conn.execute(insert(JobRow), chunk)
    if store.engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load; without it the planner guesses blind.
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE jobs"))
    return time.perf_counter() - start


def deep_key(store: JobStore, job_filter: JobFilter, depth: float) -> JobKey:
    """The key ``depth`` of the way down the filtered list (setup only: OFFSET is fine here)."""
    (statement,) = list_statements(job_filter, 1, None)
    with store.engine.connect() as conn:
        matching = conn.execute(
            select(func.count()).select_from(statement.limit(None).order_by(None).subquery())
        ).scalar_one()
        row = conn.execute(
            statement.with_only_columns(JobRow.created_at, JobRow.job_id)
            .limit(1)
            .offset(int(matching * depth))
        ).one()
    return JobKey(row.created_at, row.job_id)


def plan(engine: Engine, job_filter: JobFilter, limit: int, after: JobKey | None) -> str:
    (statement,) = list_statements(job_filter, limit + 1, after)
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = conn.execute(text("EXPLAIN " + sql)).all()
        steps = [str(r[0]).split("  (cost")[0].strip().removeprefix("->").strip() for r in rows]
        # The scan (which index) and whether a sort step sits above it.
        return "; ".join(step for step in steps if "Scan" in step or step == "Sort")


def unindexed_ms(
    engine: Engine, job_filter: JobFilter, limit: int, after: JobKey, runs: int
) -> float:
    """The same page with the database told not to use any index (the no-index baseline)."""
    (statement,) = list_statements(job_filter, limit + 1, after)
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    if engine.dialect.name == "sqlite":
        sql = sql.replace("FROM jobs", "FROM jobs NOT INDEXED", 1)

    def run() -> None:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
                    conn.execute(text(f"SET LOCAL {setting} = off"))
            conn.execute(text(sql)).all()

    return median_ms(run, runs)


def bench_backend(label: str, url: str, work: Path, args: argparse.Namespace) -> list[float]:
    """Print this backend's table; returns every page time (ms) for the target check."""
    with JobStore.open(url) as store:
        seconds = bulk_insert(store, args.jobs)
        print(f"\n== {label}: {store.count_jobs()} jobs inserted in {seconds:.1f} s ==")
        some_id = store.list_jobs(JobFilter(), limit=1, after=deep_key(store, JobFilter(), 0.5))
        pk_id = some_id.jobs[0].job_id
        pk_ms = median_ms(lambda: store.get_job(pk_id), args.runs)
        with store.engine.connect() as conn:
            raw_pk_ms = median_ms(
                lambda: conn.execute(
                    text("SELECT job_id FROM jobs WHERE job_id = :id"), {"id": pk_id}
                ).all(),
                args.runs,
            )
        deep = {case.name: deep_key(store, case.job_filter, 0.9) for case in CASES}

        broker = EmbeddedBroker("127.0.0.1", 0)
        broker.start()
        settings = ComputeSettings(
            data_dir=work,
            compute_database_url=url,
            no_auth=True,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_username=broker.credentials.username,  # the broker's service account
            mqtt_password=SecretStr(broker.credentials.password),
        )
        pages: list[float] = []
        try:
            with serve_app(create_app(settings)) as base, httpx.Client(base_url=base) as http:
                get_ms = median_ms(lambda: http.get(f"/jobs/{pk_id}").raise_for_status(), args.runs)
                print(
                    f"baselines: primary-key lookup {raw_pk_ms:.2f} ms (raw SQL), "
                    f"JobStore.get_job {pk_ms:.2f} ms, GET /jobs/{{id}} over HTTP {get_ms:.2f} ms"
                )
                header = (
                    f"{'case':<20} {'page':<6} {'store ms':>9} {'x get_job':>9} "
                    f"{'HTTP ms':>8} {'x GET id':>8}  plan"
                )
                print(header)
                print("-" * len(header))
                for case in CASES:
                    for page, after in (("first", None), ("deep", deep[case.name])):
                        store_ms = median_ms(
                            lambda c=case, a=after: store.list_jobs(
                                c.job_filter, limit=args.limit, after=a
                            ),
                            args.runs,
                        )
                        query = {**case.query, "limit": str(args.limit)}
                        if after is not None:
                            query["cursor"] = encode_cursor(after)
                        http_ms = median_ms(
                            lambda q=query: http.get("/jobs", params=q).raise_for_status(),
                            args.runs,
                        )
                        pages += [store_ms, http_ms]
                        print(
                            f"{case.name:<20} {page:<6} {store_ms:>9.2f} {store_ms / pk_ms:>9.1f} "
                            f"{http_ms:>8.2f} {http_ms / get_ms:>8.1f}  "
                            f"{plan(store.engine, case.job_filter, args.limit, after)}"
                        )
        finally:
            broker.stop()
        status_case = CASES[1]
        with_index = median_ms(
            lambda: store.list_jobs(
                status_case.job_filter, limit=args.limit, after=deep[status_case.name]
            ),
            args.runs,
        )
        without = unindexed_ms(
            store.engine, status_case.job_filter, args.limit, deep[status_case.name], args.runs
        )
        print(
            f"deep status=failed page without indexes: {without:.2f} ms "
            f"(with: {with_index:.2f} ms, {without / with_index:.1f}x slower without)"
        )
        return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    if args.runs < 20:
        parser.error("--runs must be at least 20 (medians of fewer runs are noise)")
    print(f"{args.jobs} jobs, page size {args.limit}, median of {args.runs} runs each")
    worst: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="cl-bench-joblist-") as tmp:
        work = Path(tmp)
        sqlite_url = f"sqlite:///{work / 'sqlite' / 'compute.db'}"
        worst.append(("SQLite", max(bench_backend("SQLite", sqlite_url, work / "sqlite", args))))
        try:
            with fresh_database("cl_bench_joblist") as pg_url:
                pages = bench_backend("PostgreSQL", pg_url, work / "postgres", args)
                worst.append(("PostgreSQL", max(pages)))
        except PostgresUnavailableError as exc:
            print(f"PostgreSQL skipped: {exc}")
    print()
    for label, slowest in worst:
        verdict = "meets" if slowest < TARGET_MS else "MISSES"
        print(f"{label}: slowest page {slowest:.2f} ms, {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
