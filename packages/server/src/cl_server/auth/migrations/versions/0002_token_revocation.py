"""Token revocation: ``auth_users.token_version`` and the ``auth_deleted_users`` tombstones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing users start at version 0, which is what their tokens (no claim) count as.
    with op.batch_alter_table("auth_users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "auth_deleted_users",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_auth_deleted_users"),
    )


def downgrade() -> None:
    op.drop_table("auth_deleted_users")
    with op.batch_alter_table("auth_users") as batch:
        batch.drop_column("token_version")
