"""The claim index ends with job_id, the claim's last ORDER BY key.

Without it, each claim sorted its first (priority, created_at) group of queued rows: PostgreSQL's
incremental sort reads at least 32 of them per claim, SQLite built a temporary B-tree. With it,
a claim reads the one row it takes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_jobs_claim_order"


def upgrade() -> None:
    op.drop_index(_NAME, table_name="jobs")
    op.create_index(
        _NAME, "jobs", ["status", sa.literal_column("priority DESC"), "created_at", "job_id"]
    )


def downgrade() -> None:
    op.drop_index(_NAME, table_name="jobs")
    op.create_index(_NAME, "jobs", ["status", sa.literal_column("priority DESC"), "created_at"])
