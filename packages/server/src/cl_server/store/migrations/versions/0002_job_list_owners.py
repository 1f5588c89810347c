"""Job list, owners, cancel and retry: created_by, worker_id, forgiven_attempts, list indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIST_INDEXES: dict[str, list[str]] = {
    "ix_jobs_list": ["created_at", "job_id"],
    "ix_jobs_list_status": ["status", "created_at", "job_id"],
    "ix_jobs_list_task_type": ["task_type", "created_at", "job_id"],
    "ix_jobs_list_created_by": ["created_by", "created_at", "job_id"],
    "ix_jobs_list_created_by_status": ["created_by", "status", "created_at", "job_id"],
}


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, or NOT NULL with a default) works on SQLite without a batch
    # table rebuild, so upgrading a large job table stays cheap.
    op.add_column(
        "jobs",
        sa.Column("forgiven_attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("jobs", sa.Column("worker_id", sa.String(length=255), nullable=True))
    op.add_column("jobs", sa.Column("created_by", sa.String(length=255), nullable=True))
    # Jobs running during the upgrade keep showing their worker.
    op.execute("UPDATE jobs SET worker_id = leased_by WHERE leased_by IS NOT NULL")
    for name, columns in _LIST_INDEXES.items():
        op.create_index(name, "jobs", columns)


def downgrade() -> None:
    for name in _LIST_INDEXES:
        op.drop_index(name, table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("created_by")
        batch.drop_column("worker_id")
        batch.drop_column("forgiven_attempts")
