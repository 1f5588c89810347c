"""Initial job store schema: jobs and service_config.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("task_output", sa.JSON(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default="5", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("releases", sa.Integer(), server_default="0", nullable=False),
        sa.Column("leased_by", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_claim_order",
        "jobs",
        ["status", sa.literal_column("priority DESC"), "created_at"],
    )
    config = op.create_table(
        "service_config",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("guest_mode", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_config")),
    )
    # A fresh install starts with guest mode ON (PROTOCOL §3.1), never changed by anyone yet.
    op.bulk_insert(config, [{"id": 1, "guest_mode": True}])


def downgrade() -> None:
    op.drop_table("service_config")
    op.drop_index("ix_jobs_claim_order", table_name="jobs")
    op.drop_table("jobs")
