"""What enforcement reads about principals and resources: entities by name, tags, policy documents.

Read-only queries, straight on the tables: a user's inline and attached policies with those of its
groups, a role's, a boundary's default version, and the tags and paths of the entity a call acts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from ostiary.store.tables import (
    NAMED_ENTITIES,
    access_keys,
    group_members,
    inline_policies,
    managed_policies,
    policy_attachments,
    policy_versions,
    tags,
    users,
)


@dataclass(frozen=True)
class Entity:
    """A stored entity: its kind (user, group, role ...), unique id, name, path and boundary ARN."""

    kind: str
    entity_id: str
    name: str
    path: str
    permissions_boundary: str | None = None


@dataclass(frozen=True)
class PolicyDocument:
    """One policy that applies to a principal: its id (name), AWS's source type, the entity, the text.

    `source_type` is the simulator's SourcePolicyType family: `user`, `group`, `role` (inline),
    `aws-managed`, `user-managed`; `arn` is set for managed policies.
    """

    policy_id: str
    source_type: str
    document: str
    arn: str | None = None


def find_named(conn: Connection, account_id: str, kind: str, name: str) -> Entity | None:
    """The user, group, role or instance profile of that name in the account, or None."""
    spec = NAMED_ENTITIES.get(kind)
    if spec is None:
        return None
    table, id_column = spec
    row = conn.execute(
        select(table).where(table.c.account_id == account_id, table.c.name_key == name.lower())
    ).first()
    return None if row is None else _entity(kind, row._mapping, id_column)


def find_by_id(conn: Connection, kind: str, entity_id: str) -> Entity | None:
    """The user or role with that unique id, or None."""
    spec = NAMED_ENTITIES.get(kind)
    if spec is None:
        return None
    table, id_column = spec
    row = conn.execute(select(table).where(table.c[id_column] == entity_id)).first()
    return None if row is None else _entity(kind, row._mapping, id_column)


def _entity(kind: str, row: RowMapping, id_column: str) -> Entity:
    return Entity(kind, row[id_column], row["name"], row["path"], row.get("permissions_boundary"))


def key_owner(conn: Connection, access_key_id: str) -> Entity | None:
    """The user who owns a long-term access key (None for unknown keys and root keys)."""
    row = conn.execute(
        select(users)
        .select_from(access_keys.join(users, users.c.user_id == access_keys.c.user_id))
        .where(access_keys.c.access_key_id == access_key_id)
    ).first()
    return None if row is None else _entity("user", row._mapping, "user_id")


def managed_policy_id(conn: Connection, arn: str) -> str | None:
    """The unique id of a managed policy by ARN (the tags table keys a policy's tags by it)."""
    return conn.execute(select(managed_policies.c.policy_id).where(managed_policies.c.arn == arn)).scalar()


def tags_of(conn: Connection, entity_type: str, entity_id: str) -> dict[str, str]:
    """Every tag of one entity as {key: value}."""
    rows = conn.execute(
        select(tags.c.key, tags.c.value).where(
            tags.c.entity_type == entity_type, tags.c.entity_id == entity_id
        )
    )
    return {r.key: r.value for r in rows}


def group_ids(conn: Connection, user_id: str) -> list[str]:
    """The groups a user belongs to, in the order it joined them."""
    rows = conn.execute(
        select(group_members.c.group_id)
        .where(group_members.c.user_id == user_id)
        .order_by(group_members.c.position, group_members.c.group_id)
    )
    return [r[0] for r in rows]


def identity_policies(conn: Connection, kind: str, entity_id: str) -> list[PolicyDocument]:
    """A user's or role's identity policies: inline, then attached; a user's groups' after its own."""
    found = _inline(conn, kind, [entity_id]) + _attached(conn, kind, [entity_id])
    if kind == "user":
        ids = group_ids(conn, entity_id)
        if ids:
            found += _inline(conn, "group", ids) + _attached(conn, "group", ids)
    return found


def group_policies(conn: Connection, group_id: str) -> list[PolicyDocument]:
    """A group's own inline and attached policies."""
    return _inline(conn, "group", [group_id]) + _attached(conn, "group", [group_id])


def _inline(conn: Connection, kind: str, entity_ids: list[str]) -> list[PolicyDocument]:
    rows = conn.execute(
        select(inline_policies.c.name, inline_policies.c.document, inline_policies.c.entity_id)
        .where(inline_policies.c.entity_type == kind, inline_policies.c.entity_id.in_(entity_ids))
        .order_by(inline_policies.c.entity_id, inline_policies.c.name_key)
    )
    return [PolicyDocument(r.name, kind, r.document) for r in rows]


def _attached(conn: Connection, kind: str, entity_ids: list[str]) -> list[PolicyDocument]:
    mp, pa, pv = managed_policies, policy_attachments, policy_versions
    rows = conn.execute(
        select(mp.c.name, mp.c.arn, mp.c.account_id, pv.c.document)
        .select_from(pa.join(mp, mp.c.policy_id == pa.c.policy_id).join(pv, _default_version()))
        .where(pa.c.entity_type == kind, pa.c.entity_id.in_(entity_ids))
        .order_by(pa.c.entity_id, pa.c.position)
    )
    return [PolicyDocument(r.name, _managed_type(r.account_id), r.document, r.arn) for r in rows]


def _managed_type(account_id: str) -> str:
    return "aws-managed" if account_id == "aws" else "user-managed"


# What bounds a principal whose permissions boundary names a policy the store does not hold (no call
# leaves one: DeletePolicy refuses a boundary's policy, under its lock): a boundary allowing nothing, so
# that a store out of step fails closed, never leaving the principal unbounded.
_BOUNDS_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"*","Resource":"*"}]}'


def boundary_policy(conn: Connection, arn: str) -> PolicyDocument:
    """The permissions boundary a principal's ARN names: its policy's default version, or, when the store
    holds none, one that allows nothing."""
    found = managed_policy(conn, arn)
    if found is not None:
        return found
    return PolicyDocument(arn.rsplit("/", 1)[-1], "user-managed", _BOUNDS_ALL, arn)


def managed_policy(conn: Connection, arn: str) -> PolicyDocument | None:
    """The default version of a managed policy by ARN (a permissions boundary, a session policy ARN)."""
    mp, pv = managed_policies, policy_versions
    row = conn.execute(
        select(mp.c.name, mp.c.arn, mp.c.account_id, pv.c.document)
        .select_from(mp.join(pv, _default_version()))
        .where(mp.c.arn == arn)
    ).first()
    if row is None:
        return None
    return PolicyDocument(row.name, _managed_type(row.account_id), row.document, row.arn)


def _default_version() -> Any:
    mp, pv = managed_policies, policy_versions
    return (pv.c.policy_id == mp.c.policy_id) & (pv.c.version_id == mp.c.default_version)
