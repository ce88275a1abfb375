"""analyzers, analyzer_tags, analyzer_archive_rules, analyzer_findings: Access Analyzer's analyzers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_KEY = ("account_id", "region", "analyzer_name")


def _key_columns() -> list[sa.Column]:  # type: ignore[type-arg]  # alembic's untyped columns
    return [
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("analyzer_name", sa.String(length=255), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "analyzers",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("configuration", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region", "name", name=op.f("pk_analyzers")),
    )
    op.create_table(
        "analyzer_tags",
        *_key_columns(),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, "key", name=op.f("pk_analyzer_tags")),
    )
    op.create_table(
        "analyzer_archive_rules",
        *_key_columns(),
        sa.Column("rule_name", sa.String(length=255), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, "rule_name", name=op.f("pk_analyzer_archive_rules")),
    )
    op.create_table(
        "analyzer_findings",
        *_key_columns(),
        sa.Column("finding_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, "finding_id", name=op.f("pk_analyzer_findings")),
    )


def downgrade() -> None:
    op.drop_table("analyzer_findings")
    op.drop_table("analyzer_archive_rules")
    op.drop_table("analyzer_tags")
    op.drop_table("analyzers")
