"""gateway_resources: who owns each bucket, table and key the gateway saw created, and bucket policies

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_resources",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("owner_account", sa.String(length=12), nullable=False),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("service", "region", "name", name=op.f("pk_gateway_resources")),
    )
    op.create_index(
        op.f("ix_gateway_resources_owner_account"), "gateway_resources", ["owner_account"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_gateway_resources_owner_account"), table_name="gateway_resources")
    op.drop_table("gateway_resources")
