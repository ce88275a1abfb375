"""saml_assertions_used: the SAML assertions accepted, kept in the store so that every node refuses a
replay

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saml_assertions_used",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("not_on_or_after", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_saml_assertions_used")),
    )
    op.create_index(
        "ix_saml_assertions_used_not_on_or_after", "saml_assertions_used", ["not_on_or_after"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_saml_assertions_used_not_on_or_after", table_name="saml_assertions_used")
    op.drop_table("saml_assertions_used")
