"""ORM tables of the job store.

The Alembic migrations in ``migrations/versions`` must produce exactly this schema; a test
compares them (autogenerate finds no difference). Change both together.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, MetaData, String, Text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints keep migrations portable (SQLite batch mode needs names to alter them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobRow(Base):
    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, server_default="0")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # none_as_null: a missing output is SQL NULL, not the JSON text "null".
    task_output: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error_message: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, server_default="5")
    # All times are integer milliseconds since the epoch, the wire format (PROTOCOL §1).
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    # Lease: ``attempt`` grows with every claim and fences stale writes; ``releases`` counts
    # graceful give-backs, which are not charged against the attempt limit.
    attempt: Mapped[int] = mapped_column(Integer, server_default="0")
    releases: Mapped[int] = mapped_column(Integer, server_default="0")
    leased_by: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[int | None] = mapped_column(BigInteger)
    # A manual retry gives the job a fresh attempt budget without lowering ``attempt`` (the
    # fencing token): the attempts charged before it are parked here. Charged attempts are
    # ``attempt - releases - forgiven_attempts``.
    forgiven_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # ``leased_by`` is cleared when a lease ends; ``worker_id`` keeps the last worker that
    # claimed the job, for the job list and for debugging a failure after the fact.
    worker_id: Mapped[str | None] = mapped_column(String(255))
    # The submitting user's id when auth is enforced; NULL in guest mode and with auth disabled.
    created_by: Mapped[str | None] = mapped_column(String(255))


# The claim query: WHERE status='queued' ORDER BY priority DESC, created_at, job_id; the index
# holds that whole order, so a claim reads the row it takes and sorts nothing.
Index(
    "ix_jobs_claim_order",
    JobRow.status,
    JobRow.priority.desc(),
    JobRow.created_at,
    JobRow.job_id,
)
# The job list (GET /jobs) pages newest first by the key (created_at, job_id); each filter it
# offers has an index that starts with the filtered column and then holds the rows in key
# order, so a page is one short backward index range scan, however deep the cursor.
Index("ix_jobs_list", JobRow.created_at, JobRow.job_id)
Index("ix_jobs_list_status", JobRow.status, JobRow.created_at, JobRow.job_id)
Index("ix_jobs_list_task_type", JobRow.task_type, JobRow.created_at, JobRow.job_id)
Index("ix_jobs_list_created_by", JobRow.created_by, JobRow.created_at, JobRow.job_id)
# A non-admin's list always filters by owner; "my failed jobs" must not walk all of theirs.
Index(
    "ix_jobs_list_created_by_status",
    JobRow.created_by,
    JobRow.status,
    JobRow.created_at,
    JobRow.job_id,
)


class ServiceConfigRow(Base):
    """Runtime preferences of the compute service; a single row with ``id = 1``."""

    __tablename__ = "service_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    guest_mode: Mapped[bool] = mapped_column(Boolean, server_default=true())
    updated_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(255))


CONFIG_ROW_ID = 1
