"""tags.key_lower holds a lower-cased key of up to 256 characters (`İ` lower-cases to two)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tags") as batch:
        batch.alter_column(
            "key_lower",
            existing_type=sa.String(length=128),
            type_=sa.String(length=256),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("tags") as batch:
        batch.alter_column(
            "key_lower",
            existing_type=sa.String(length=256),
            type_=sa.String(length=128),
            existing_nullable=False,
        )
