"""named_principals: the IAM users and roles that role trust policies and bucket policies name, each bound
to its unique id; filled from the policies already stored (a name that matches no principal now stays
unbound, as before)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from ostiary.policy import aws_principals, is_user_or_role_arn

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "named_principals",
        sa.Column("holder_kind", sa.String(length=16), nullable=False),
        sa.Column("holder_id", sa.String(length=255), nullable=False),
        sa.Column("principal_arn", sa.String(length=1024), nullable=False),
        sa.Column("principal_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint(
            "holder_kind", "holder_id", "principal_arn", name=op.f("pk_named_principals")
        ),
    )
    op.create_index("ix_named_principals_principal_id", "named_principals", ["principal_id"], unique=False)
    _fill(op.get_bind())


def _fill(conn: sa.Connection) -> None:
    """Bind the principals the stored trust and bucket policies name, where the ARN is one's now."""
    arns = {}
    for kind, id_column in (("user", "user_id"), ("role", "role_id")):
        rows = conn.execute(sa.text(f"SELECT {id_column}, account_id, path, name FROM {kind}s"))  # noqa: S608 - constant names
        arns.update({f"arn:aws:iam::{r[1]}:{kind}{r[2]}{r[3]}": r[0] for r in rows})
    holders = [("role", r[0], r[1]) for r in conn.execute(sa.text("SELECT role_id, trust_policy FROM roles"))]
    buckets = sa.text(
        "SELECT name, policy FROM gateway_resources WHERE service = 's3' AND policy IS NOT NULL"
    )
    holders += [("bucket", r[0], r[1]) for r in conn.execute(buckets)]
    rows = [
        {"holder_kind": kind, "holder_id": holder, "principal_arn": arn, "principal_id": arns[arn]}
        for kind, holder, text in holders
        for arn in aws_principals(text)
        if is_user_or_role_arn(arn) and arn in arns
    ]
    if rows:
        insert = sa.text(
            "INSERT INTO named_principals (holder_kind, holder_id, principal_arn, principal_id) "
            "VALUES (:holder_kind, :holder_id, :principal_arn, :principal_id)"
        )
        conn.execute(insert, rows)


def downgrade() -> None:
    op.drop_index("ix_named_principals_principal_id", table_name="named_principals")
    op.drop_table("named_principals")
