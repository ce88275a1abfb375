"""scale indexes: pages, attachments and boundaries served by indexes at a million users (issue 16)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

- PostgreSQL sorts pages in code-point order (`COLLATE "C"`, see store/pages.py), which the
  (account_id, name_key) unique index, in the database's collation, cannot serve: every page sorted
  the whole account. An index in that collation makes a page an index range scan. SQLite compares
  in binary already, so its unique indexes serve the same pages.
- `policy_attachments` was found by (entity_type, entity_id) (a user's policies, on every
  authorization and AttachUserPolicy) and by account with no index: a scan of every attachment.
- The permissions-boundary usage count (GetPolicy, ListPolicies) and the accounts a policy change
  reaches looked for `permissions_boundary` with no index: a scan of every user and role. Partial
  indexes, as most users and roles have no boundary.
- A user's access keys and groups were found by user_id, which no index led with.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (index, table, columns) on every store
_INDEXES = (
    ("ix_policy_attachments_entity", "policy_attachments", ["entity_type", "entity_id"]),
    ("ix_policy_attachments_account", "policy_attachments", ["account_id", "policy_id"]),
    ("ix_access_keys_user_id", "access_keys", ["user_id"]),
    ("ix_group_members_user_id", "group_members", ["user_id"]),
)
# (index, table): the boundary of each user or role, where it has one
_BOUNDARIES = (("ix_users_boundary", "users"), ("ix_roles_boundary", "roles"))
# (index, table, leading column, sort column): PostgreSQL's pages in code-point order
_CODE_POINT_ORDER = (
    ("ix_users_account_name_c", "users", "account_id", "name_key"),
    ("ix_groups_account_name_c", "groups", "account_id", "name_key"),
    ("ix_roles_account_name_c", "roles", "account_id", "name_key"),
    ("ix_managed_policies_account_arn_c", "managed_policies", "account_id", "arn"),
    ("ix_instance_profiles_account_name_c", "instance_profiles", "account_id", "name_key"),
)

# SQLite's: an account's policies by ARN (binary, its default)
_POLICIES_BY_ARN = "ix_managed_policies_account_arn"


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)
    has_boundary = sa.text("permissions_boundary IS NOT NULL")
    for name, table in _BOUNDARIES:
        op.create_index(
            name,
            table,
            ["permissions_boundary", "account_id"],
            postgresql_where=has_boundary,
            sqlite_where=has_boundary,
        )
    if op.get_bind().dialect.name == "postgresql":
        for name, table, leading, key in _CODE_POINT_ORDER:
            op.create_index(name, table, [leading, sa.text(f'{key} COLLATE "C"')])
    else:
        op.create_index(_POLICIES_BY_ARN, "managed_policies", ["account_id", "arn"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _, _ in _CODE_POINT_ORDER:
            op.drop_index(name, table_name=table)
    else:
        op.drop_index(_POLICIES_BY_ARN, table_name="managed_policies")
    for name, table in _BOUNDARIES:
        op.drop_index(name, table_name=table)
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
