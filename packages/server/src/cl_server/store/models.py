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


# The claim query: WHERE status='queued' ORDER BY priority DESC, created_at.
Index("ix_jobs_claim_order", JobRow.status, JobRow.priority.desc(), JobRow.created_at)


class ServiceConfigRow(Base):
    """Runtime preferences of the compute service; a single row with ``id = 1``."""

    __tablename__ = "service_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    guest_mode: Mapped[bool] = mapped_column(Boolean, server_default=true())
    updated_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(255))


CONFIG_ROW_ID = 1
