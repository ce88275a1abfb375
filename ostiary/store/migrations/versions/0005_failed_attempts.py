"""failed MFA codes and passwords per user and device, for the throttle every node shares

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_attempts",
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocks", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_failed_attempts")),
    )
    op.create_index(
        op.f("ix_failed_attempts_last_failure_at"), "failed_attempts", ["last_failure_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_failed_attempts_last_failure_at"), table_name="failed_attempts")
    op.drop_table("failed_attempts")
