"""trail_resources keyed by what LookupEvents finds them by: (account, resource name, event time, event
id, resource type), WITHOUT ROWID on SQLite; the (event id, position) key and the name index go

The writer inserts a batch's resources where their names' recent rows are, instead of also at a random
place of an (event id, position) key: on SQLite, a page written (twice, with the checkpoint) for almost
every event of a small batch. LookupEvents reads an event's resources from its record.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_COLUMNS = "account_id, resource_name, event_time, event_id, resource_type"


def upgrade() -> None:
    op.drop_index("ix_trail_resources_account_type", table_name="trail_resources")
    op.drop_index("ix_trail_resources_account_name", table_name="trail_resources")
    op.rename_table("trail_resources", "trail_resources_0011")
    if op.get_bind().dialect.name == "postgresql":  # its constraint names are its indexes' names
        op.execute(
            "ALTER TABLE trail_resources_0011 RENAME CONSTRAINT pk_trail_resources TO pk_trail_resources_0011"
        )
    op.create_table(
        "trail_resources",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("resource_name", sa.String(length=2048), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "resource_name",
            "event_time",
            "event_id",
            "resource_type",
            name="pk_trail_resources",
        ),
        sqlite_with_rowid=False,
    )
    op.execute(
        f"INSERT INTO trail_resources ({_COLUMNS}) SELECT DISTINCT account_id, COALESCE(resource_name, ''),"
        " event_time, event_id, COALESCE(resource_type, '') FROM trail_resources_0011"
    )
    op.drop_table("trail_resources_0011")
    op.create_index(
        "ix_trail_resources_account_type",
        "trail_resources",
        ["account_id", "resource_type", "event_time", "event_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_trail_resources_account_type", table_name="trail_resources")
    op.rename_table("trail_resources", "trail_resources_old")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE trail_resources_old RENAME CONSTRAINT pk_trail_resources TO pk_trail_resources_old"
        )
    op.create_table(
        "trail_resources",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.String(length=4), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource_type", sa.String(length=128), nullable=True),
        sa.Column("resource_name", sa.String(length=2048), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "position", name="pk_trail_resources"),
    )
    op.execute(  # the order an event named them in is not kept: by type and name
        "INSERT INTO trail_resources"
        " (event_id, position, account_id, event_time, resource_type, resource_name)"
        " SELECT event_id,"
        " CAST(ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY resource_type, resource_name) - 1"
        " AS VARCHAR(4)),"
        " account_id, event_time, resource_type, resource_name FROM trail_resources_old"
    )
    op.drop_table("trail_resources_old")
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
