"""The IAM users and roles that stored resource policies name in Principal, each bound to the unique id
it had when the policy was saved.

AWS keeps such a principal as its unique id: a user or role deleted and made again under the same name
is another principal, and the policy does not name it. Ostiary keeps the policy's text as written and,
beside it, one row per (holder, principal ARN) with that id; deleting the principal rewrites each
holder's text to name the id instead (`services/named_principals.py`). A holder is a role (its trust
policy, by role id), a bucket (its policy in `gateway_resources`, by name) or a KMS key (its key policy
in `gateway_resources`, by `key_holder(region, key id)`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Index, String, Table, delete, select, update

from ostiary.store.tables import metadata, roles, users

ROLE, BUCKET, KEY = "role", "bucket", "key"  # the kinds of holder

# Migration 0020. No foreign key: a holder's rows go with it (DeleteRole, DeleteBucket), a principal's
# when it is deleted, in the same transaction.
named_principals = Table(
    "named_principals",
    metadata,
    Column("holder_kind", String(16), primary_key=True),  # role, bucket, key
    Column("holder_id", String(255), primary_key=True),  # a role id, a bucket name, `key_holder`
    Column("principal_arn", String(1024), primary_key=True),  # as the policy spells it (the exact ARN)
    Column("principal_id", String(128), nullable=False),  # the user's or role's unique id at save time
    Index("ix_named_principals_principal_id", "principal_id"),
)
_t = named_principals


def key_holder(region: str, key_id: str) -> str:
    """The holder id of a KMS key's policy: its region and key id (neither holds a `/`)."""
    return f"{region}/{key_id}"


def key_of_holder(holder_id: str) -> tuple[str, str]:
    """(region, key id) of a key's holder id."""
    region, _, key_id = holder_id.partition("/")
    return region, key_id


def resolve(conn: Connection, arn: str) -> str | None:
    """The unique id of the IAM user or role whose ARN is exactly `arn` (path and name as spelled),
    or None; its row is held (PostgreSQL: FOR KEY SHARE) so that it is neither deleted nor renamed
    before this transaction ends, while other writes of it go on."""
    parts = arn.split(":", 5)
    kind, _, path_and_name = parts[5].partition("/")
    name = path_and_name.rpartition("/")[2]
    table, id_column = (users, users.c.user_id) if kind == "user" else (roles, roles.c.role_id)
    stmt = select(id_column, table.c.path, table.c.name).where(
        table.c.account_id == parts[4], table.c.name_key == name.lower()
    )
    row = conn.execute(stmt.with_for_update(read=True, key_share=True)).first()
    if row is None or f"arn:aws:iam::{parts[4]}:{kind}{row.path}{row.name}" != arn:
        return None
    return str(row[0])


def id_exists(conn: Connection, unique_id: str) -> bool:
    """Whether a user or role has this unique id (held as `resolve` holds it)."""
    for column in (users.c.user_id, roles.c.role_id):
        stmt = select(column).where(column == unique_id).with_for_update(read=True, key_share=True)
        if conn.execute(stmt).first() is not None:
            return True
    return False


def record(conn: Connection, holder_kind: str, holder_id: str, bound: dict[str, str]) -> None:
    """The principals a holder's policy now names: {ARN: unique id} (none: the holder has no policy)."""
    forget(conn, holder_kind, holder_id)
    if bound:
        rows = [{"principal_arn": a, "principal_id": i} for a, i in sorted(bound.items())]
        conn.execute(_t.insert().values(holder_kind=holder_kind, holder_id=holder_id), rows)


def forget(conn: Connection, holder_kind: str, holder_id: str) -> None:
    """The holder (or its policy) is gone."""
    conn.execute(delete(_t).where(_t.c.holder_kind == holder_kind, _t.c.holder_id == holder_id))


def holders(conn: Connection, principal_id: str) -> list[Any]:
    """(holder_kind, holder_id, principal_arn) of every policy that names this principal by ARN."""
    stmt = select(_t.c.holder_kind, _t.c.holder_id, _t.c.principal_arn).where(
        _t.c.principal_id == principal_id
    )
    return list(conn.execute(stmt.order_by(_t.c.holder_kind, _t.c.holder_id)))


def renamed(conn: Connection, principal_id: str, arn: str) -> None:
    """The principal now has this ARN (UpdateUser): the policies name it so."""
    conn.execute(update(_t).where(_t.c.principal_id == principal_id).values(principal_arn=arn))


def unbound(conn: Connection, principal_id: str) -> None:
    """The principal was deleted: the policies name its id now, no longer its ARN."""
    conn.execute(delete(_t).where(_t.c.principal_id == principal_id))


def role_trust_policy(conn: Connection, role_id: str) -> Any | None:
    """(account_id, trust_policy) of a role, its row held for the rewrite (FOR NO KEY UPDATE)."""
    stmt = select(roles.c.account_id, roles.c.trust_policy).where(roles.c.role_id == role_id)
    return conn.execute(stmt.with_for_update(key_share=True)).first()
