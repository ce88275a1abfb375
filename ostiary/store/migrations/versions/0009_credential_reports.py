"""credential_reports: each account's latest credential report

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_reports",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_credential_reports_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_credential_reports")),
    )


def downgrade() -> None:
    op.drop_table("credential_reports")
