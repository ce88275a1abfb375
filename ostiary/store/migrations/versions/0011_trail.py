"""trail_events, trail_resources: the audit trail (CloudTrail records) and the resources each names

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trail_events",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_name", sa.String(length=128), nullable=False),
        sa.Column("event_source", sa.String(length=128), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=256), nullable=True),
        sa.Column("access_key_id", sa.String(length=128), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_trail_events")),
    )
    op.create_index("ix_trail_events_account_time", "trail_events", ["account_id", "event_time", "event_id"])
    op.create_index(
        "ix_trail_events_account_name", "trail_events", ["account_id", "event_name", "event_time"]
    )
    op.create_index("ix_trail_events_account_user", "trail_events", ["account_id", "username", "event_time"])
    op.create_index(
        "ix_trail_events_account_key", "trail_events", ["account_id", "access_key_id", "event_time"]
    )
    op.create_index(
        "ix_trail_events_account_source", "trail_events", ["account_id", "event_source", "event_time"]
    )
    op.create_table(
        "trail_resources",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.String(length=4), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource_type", sa.String(length=128), nullable=True),
        sa.Column("resource_name", sa.String(length=2048), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "position", name=op.f("pk_trail_resources")),
    )
    op.create_index(
        "ix_trail_resources_account_type",
        "trail_resources",
        ["account_id", "resource_type", "event_time", "event_id"],
    )
    op.create_index(
        "ix_trail_resources_account_name",
        "trail_resources",
        ["account_id", "resource_name", "event_time", "event_id"],
    )


def downgrade() -> None:
    op.drop_table("trail_resources")
    op.drop_table("trail_events")
