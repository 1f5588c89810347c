"""Pure logic of the job store: records and constructor/URL checks (no database opened)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from cl_server.store import QUEUED, JobRecord, JobStore
from cl_server.store.engine import ensure_sqlite_parent


def _record(**changes: object) -> JobRecord:
    fields: dict[str, object] = {
        "job_id": "j",
        "task_type": "hash",
        "status": QUEUED,
        "progress": 0,
        "params": {"input_path": "input/a.jpg"},
        "task_output": None,
        "error_message": None,
        "priority": 5,
        "created_at": 10,
        "updated_at": None,
        "started_at": None,
        "completed_at": None,
        "attempt": 0,
        "leased_by": None,
        "lease_expires_at": None,
    }
    fields.update(changes)
    return JobRecord(**fields)  # pyright: ignore[reportArgumentType]


def test_charged_attempts_excludes_releases_and_forgiven_attempts() -> None:
    assert _record().releases == 0 and _record().forgiven_attempts == 0
    assert _record(attempt=3).charged_attempts == 3
    assert _record(attempt=3, releases=2).charged_attempts == 1
    # After a retry forgave 2 charged attempts, one more claim is the first of a fresh budget.
    assert _record(attempt=4, releases=1, forgiven_attempts=2).charged_attempts == 1


def test_to_response_maps_wire_fields_only() -> None:
    record = _record(
        status="completed",
        progress=100,
        task_output={"hash": "x"},
        completed_at=20,
        attempt=2,
        leased_by=None,
        worker_id="w1",
        created_by="7",
        releases=1,
        forgiven_attempts=1,
    )
    response = record.to_response().model_dump()
    assert response["task_output"] == {"hash": "x"}
    assert response["completed_at"] == 20 and response["status"] == "completed"
    # The job-list extensions are on the wire; lease bookkeeping is not.
    assert (response["attempt"], response["worker_id"], response["created_by"]) == (2, "w1", "7")
    assert not {"leased_by", "lease_expires_at", "releases", "forgiven_attempts"} & set(response)


@pytest.mark.parametrize(
    ("lease_seconds", "max_attempts", "message"),
    [(0.0, 3, "lease_seconds"), (-1.0, 3, "lease_seconds"), (30.0, 0, "max_attempts")],
)
def test_constructor_rejects_bad_limits(
    lease_seconds: float, max_attempts: int, message: str
) -> None:
    engine = create_engine("sqlite://")  # never connected
    try:
        with pytest.raises(ValueError, match=message):
            JobStore(engine, lease_seconds=lease_seconds, max_attempts=max_attempts)
    finally:
        engine.dispose()


def test_ensure_sqlite_parent(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "compute.db"
    ensure_sqlite_parent(make_url(f"sqlite:///{target}"))
    assert target.parent.is_dir() and not target.exists()

    uri_target = tmp_path / "c" / "compute.db"
    ensure_sqlite_parent(make_url(f"sqlite:///file:{uri_target}?mode=rwc&uri=true"))
    assert uri_target.parent.is_dir()

    before = sorted(tmp_path.iterdir())
    ensure_sqlite_parent(make_url("sqlite://"))
    ensure_sqlite_parent(make_url("postgresql+psycopg://u@h/db"))
    assert sorted(tmp_path.iterdir()) == before
