"""trail_access, activity_jobs: who used which action on what, day by day; last-accessed and policy
generation jobs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trail_access",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("principal_id", sa.String(length=128), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=256), nullable=False),
        sa.Column("resource", sa.String(length=2048), nullable=False),
        sa.Column("principal_arn", sa.String(length=2048), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("is_allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "principal_id", "day", "action", "resource", name=op.f("pk_trail_access")
        ),
    )
    op.create_table(
        "activity_jobs",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("arn", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_token", sa.String(length=256), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_activity_jobs")),
        sa.UniqueConstraint("account_id", "kind", "client_token", name="uq_activity_jobs_token"),
    )
    op.create_index(
        "ix_activity_jobs_account_kind", "activity_jobs", ["account_id", "kind", "created_at", "job_id"]
    )


def downgrade() -> None:
    op.drop_table("activity_jobs")
    op.drop_table("trail_access")
