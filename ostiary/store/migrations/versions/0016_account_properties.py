"""account_properties, the trusted identity propagation settings of OIDC and SAML providers, and the
maximum sign-in session duration of roles and login profiles

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_properties",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("property_key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_account_properties_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "property_key", name=op.f("pk_account_properties")),
    )
    for table in ("oidc_providers", "saml_providers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("context_provider", sa.Text(), nullable=True))
            batch.add_column(sa.Column("identity_center_instance_arn", sa.String(length=1224), nullable=True))
    for table in ("roles", "login_profiles"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("max_signin_session_duration", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place; a rebuilt table would lose 0015's count triggers
    recreate = "never" if sqlite3.sqlite_version_info >= (3, 35) else "auto"
    for table in ("login_profiles", "roles"):
        with op.batch_alter_table(table, recreate=recreate) as batch:
            batch.drop_column("max_signin_session_duration")
    for table in ("saml_providers", "oidc_providers"):
        with op.batch_alter_table(table, recreate=recreate) as batch:
            batch.drop_column("identity_center_instance_arn")
            batch.drop_column("context_provider")
    op.drop_table("account_properties")
