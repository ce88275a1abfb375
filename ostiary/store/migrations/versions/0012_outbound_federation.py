"""outbound_issuers and outbound_signing_keys: outbound web identity federation

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_issuers",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("issuer_id", sa.String(length=36), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_outbound_issuers_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_outbound_issuers")),
        sa.UniqueConstraint("issuer_id", name=op.f("uq_outbound_issuers_issuer_id")),
    )
    op.create_table(
        "outbound_signing_keys",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=5), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_outbound_signing_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "kid", name=op.f("pk_outbound_signing_keys")),
    )


def downgrade() -> None:
    op.drop_table("outbound_signing_keys")
    op.drop_table("outbound_issuers")
