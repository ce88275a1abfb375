"""Managed policies: the policies, their versions, their attachments to users, groups and roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, delete, exists, func, or_, select, update

from ostiary.store.pages import Page, Section, fetch_sections, page_list
from ostiary.store.tables import (
    NAMED_ENTITIES,
    managed_policies,
    policy_attachments,
    policy_versions,
    roles,
    tags,
    users,
)

AWS_ACCOUNT = "aws"


@dataclass(frozen=True)
class Entity:
    """A user, group or role, as found by name; `service_linked` names a service-linked role's service."""

    kind: str
    entity_id: str
    name: str
    path: str
    account_id: str
    service_linked: str | None = None


def policy_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


# -- policies ---------------------------------------------------------------------------------


def _with_counts(account_id: str) -> Select[Any]:
    """Managed policies with AttachmentCount and PermissionsBoundaryUsageCount seen from `account_id`."""
    mp = managed_policies
    attached = (
        select(func.count())
        .select_from(policy_attachments)
        .where(
            policy_attachments.c.policy_id == mp.c.policy_id, policy_attachments.c.account_id == account_id
        )
        .scalar_subquery()
    )
    boundary_users = (
        select(func.count())
        .select_from(users)
        .where(users.c.permissions_boundary == mp.c.arn, users.c.account_id == account_id)
        .scalar_subquery()
    )
    boundary_roles = (
        select(func.count())
        .select_from(roles)
        .where(roles.c.permissions_boundary == mp.c.arn, roles.c.account_id == account_id)
        .scalar_subquery()
    )
    return select(
        mp,
        attached.label("attachment_count"),
        (boundary_users + boundary_roles).label("boundary_count"),
    )


def find(conn: Connection, account_id: str, arn: str) -> Row[Any] | None:
    """The policy with this ARN visible to `account_id` (its own or AWS's), with its counts."""
    stmt = _with_counts(account_id).where(
        managed_policies.c.arn == arn, managed_policies.c.account_id.in_([account_id, AWS_ACCOUNT])
    )
    return conn.execute(stmt).first()


def find_many(conn: Connection, account_id: str, policy_ids: list[str]) -> list[Row[Any]]:
    """Policies by id, with their counts seen from `account_id`."""
    return list(conn.execute(_with_counts(account_id).where(managed_policies.c.policy_id.in_(policy_ids))))


def name_taken(conn: Connection, account_id: str, name: str) -> bool:
    stmt = select(managed_policies.c.policy_id).where(
        managed_policies.c.account_id == account_id, managed_policies.c.name_key == name.lower()
    )
    return conn.execute(stmt).first() is not None


def attachable_policy_exists(conn: Connection, arn: str) -> bool:
    """Whether an attachable managed policy (customer or AWS) has this ARN: what a boundary must name."""
    stmt = select(exists().where(managed_policies.c.arn == arn, managed_policies.c.is_attachable.is_(True)))
    return conn.execute(stmt).scalar() is True


def count_local(conn: Connection, account_id: str) -> int:
    stmt = (
        select(func.count()).select_from(managed_policies).where(managed_policies.c.account_id == account_id)
    )
    return int(conn.execute(stmt).scalar() or 0)


def insert(
    conn: Connection,
    *,
    policy_id: str,
    account_id: str,
    name: str,
    path: str,
    description: str | None,
    document: str,
    now: datetime,
    version_id: str = "v1",
    next_version: int = 2,
) -> str:
    """A new managed policy with its first version; returns its ARN."""
    arn = policy_arn(account_id, path, name)
    conn.execute(
        managed_policies.insert().values(
            policy_id=policy_id,
            account_id=account_id,
            arn=arn,
            name=name,
            name_key=name.lower(),
            path=path,
            description=description,
            default_version=version_id,
            next_version=next_version,
            is_attachable=True,
            created_at=now,
            updated_at=now,
        )
    )
    add_version(conn, policy_id, version_id, document, now)
    return arn


def delete_policy(conn: Connection, policy_id: str) -> None:
    conn.execute(delete(policy_versions).where(policy_versions.c.policy_id == policy_id))
    conn.execute(delete(tags).where(tags.c.entity_type == "policy", tags.c.entity_id == policy_id))
    conn.execute(delete(managed_policies).where(managed_policies.c.policy_id == policy_id))


def is_attached_in(account_id: str) -> ColumnElement[bool]:
    """Whether the managed policy of the enclosing query is attached to something of `account_id`."""
    pa = policy_attachments
    return exists().where(pa.c.policy_id == managed_policies.c.policy_id, pa.c.account_id == account_id)


def is_boundary_in(account_id: str) -> ColumnElement[bool]:
    """Whether the managed policy of the enclosing query is a user's or role's boundary in `account_id`."""
    arn = managed_policies.c.arn
    return or_(
        *(
            exists().where(t.c.permissions_boundary == arn, t.c.account_id == account_id)
            for t in (users, roles)
        )
    )


def list_page(
    conn: Connection,
    account_id: str,
    *,
    scope: str,
    only_attached: bool,
    path_prefix: str,
    usage: str | None,
    marker: str | None,
    max_items: int | None,
) -> Page:
    """One page of ListPolicies: AWS's own (Scope=AWS) in the order AWS made them, others by ARN.

    The page is chosen on the policies alone (an attachment or boundary filter is an index probe per
    policy, in ARN order), and only its policies are counted: counting every policy of the account
    before the sort made each page as slow as the account is large."""
    mp = managed_policies
    owners = {"All": [account_id, AWS_ACCOUNT], "AWS": [AWS_ACCOUNT], "Local": [account_id]}[scope]
    stmt = select(mp.c.policy_id, mp.c.arn, mp.c.created_at).where(
        mp.c.path.startswith(path_prefix, autoescape=True)
    )
    if usage == "PermissionsBoundary":
        stmt = stmt.where(is_boundary_in(account_id))
    elif only_attached:
        stmt = stmt.where(is_attached_in(account_id))
    if scope == "AWS":  # AWS-recorded ListPolicies 517: AdministratorAccess, PowerUserAccess, ReadOnlyAccess
        rows, fields = page_list(
            list(conn.execute(stmt.where(mp.c.account_id == AWS_ACCOUNT))),
            marker,
            max_items,
            key=_creation_key,
        )
        chosen, following = [r.policy_id for r in rows], fields.get("Marker")
    else:  # the account's ARNs all sort before AWS's (`arn:aws:iam::<digits>:` < `arn:aws:iam::aws:`)
        sections = [Section("", stmt.where(mp.c.account_id == owner), mp.c.arn) for owner in owners]
        found, following = fetch_sections(conn, sections, marker, max_items)
        chosen = [r.policy_id for _, r in found]
    counted = {r.policy_id: r for r in find_many(conn, account_id, chosen)}
    return Page([counted[policy_id] for policy_id in chosen], following)


def _creation_key(row: Row[Any]) -> str:
    """A policy's place in creation order, its ARN breaking ties: a string, as a Marker holds."""
    created: datetime = row.created_at
    when = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S.%f} {row.arn}"


def touch(conn: Connection, policy_id: str, now: datetime, **values: Any) -> None:
    conn.execute(
        update(managed_policies)
        .where(managed_policies.c.policy_id == policy_id)
        .values(updated_at=now, **values)
    )


# -- versions ---------------------------------------------------------------------------------


def add_version(conn: Connection, policy_id: str, version_id: str, document: str, now: datetime) -> None:
    conn.execute(
        policy_versions.insert().values(
            policy_id=policy_id, version_id=version_id, document=document, created_at=now
        )
    )


def versions(conn: Connection, policy_id: str) -> list[Row[Any]]:
    """Every version of a policy, newest first."""
    rows = list(conn.execute(select(policy_versions).where(policy_versions.c.policy_id == policy_id)))
    return sorted(rows, key=lambda r: _version_number(r.version_id), reverse=True)


def version(conn: Connection, policy_id: str, version_id: str) -> Row[Any] | None:
    stmt = select(policy_versions).where(
        policy_versions.c.policy_id == policy_id, policy_versions.c.version_id == version_id
    )
    return conn.execute(stmt).first()


def delete_version(conn: Connection, policy_id: str, version_id: str) -> None:
    conn.execute(
        delete(policy_versions).where(
            policy_versions.c.policy_id == policy_id, policy_versions.c.version_id == version_id
        )
    )


def _version_number(version_id: str) -> int:
    digits = version_id[1:].split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


# -- entities and attachments -----------------------------------------------------------------


def find_entity(
    conn: Connection, account_id: str, kind: str, name: str, *, lock: bool = False
) -> Entity | None:
    """The user, group or role of this account with this name (case-insensitive); `lock` holds its row
    until the transaction ends (its policies are counted, it is not deleted meanwhile)."""
    table, id_column = NAMED_ENTITIES[kind]
    columns = [table.c[id_column], table.c.name, table.c.path]
    if kind == "role":
        columns.append(roles.c.service_linked)
    stmt = select(*columns).where(table.c.account_id == account_id, table.c.name_key == name.lower())
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        return None
    return Entity(kind, row[0], row.name, row.path, account_id, row[3] if kind == "role" else None)


def is_attached(conn: Connection, policy_id: str, entity: Entity) -> bool:
    pa = policy_attachments
    stmt = select(pa.c.policy_id).where(
        pa.c.policy_id == policy_id, pa.c.entity_type == entity.kind, pa.c.entity_id == entity.entity_id
    )
    return conn.execute(stmt).first() is not None


def count_attached(conn: Connection, entity: Entity) -> int:
    pa = policy_attachments
    stmt = (
        select(func.count())
        .select_from(pa)
        .where(pa.c.entity_type == entity.kind, pa.c.entity_id == entity.entity_id)
    )
    return int(conn.execute(stmt).scalar() or 0)


def attach(conn: Connection, policy_id: str, entity: Entity) -> None:
    pa = policy_attachments
    position = conn.execute(
        select(func.coalesce(func.max(pa.c.position), 0) + 1).where(
            pa.c.entity_type == entity.kind, pa.c.entity_id == entity.entity_id
        )
    ).scalar()
    conn.execute(
        pa.insert().values(
            policy_id=policy_id,
            entity_type=entity.kind,
            entity_id=entity.entity_id,
            account_id=entity.account_id,
            position=position,
        )
    )


def attach_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Bulk attachments (a bulk load): rows as policy_attachments' columns, each entity's positions
    given by the caller."""
    if rows:
        conn.execute(policy_attachments.insert(), rows)


def detach(conn: Connection, policy_id: str, entity: Entity) -> None:
    pa = policy_attachments
    conn.execute(
        delete(pa).where(
            pa.c.policy_id == policy_id, pa.c.entity_type == entity.kind, pa.c.entity_id == entity.entity_id
        )
    )


def attached_policies(conn: Connection, kind: str, entity_id: str, path_prefix: str = "/") -> list[Row[Any]]:
    """The managed policies attached to one entity (name, arn, path), in the order attached."""
    mp, pa = managed_policies, policy_attachments
    stmt = (
        select(mp.c.name, mp.c.arn, mp.c.path)
        .select_from(pa.join(mp, mp.c.policy_id == pa.c.policy_id))
        .where(
            pa.c.entity_type == kind,
            pa.c.entity_id == entity_id,
            mp.c.path.startswith(path_prefix, autoescape=True),
        )
        .order_by(pa.c.position, mp.c.arn)
    )
    return list(conn.execute(stmt))


def attached_entities(
    conn: Connection, policy_id: str, account_id: str, kind: str, path_prefix: str
) -> list[Row[Any]]:
    """The users, groups or roles of `account_id` a policy is attached to: (id, name), by name."""
    table, id_column = NAMED_ENTITIES[kind]
    pa = policy_attachments
    stmt = (
        select(table.c[id_column].label("entity_id"), table.c.name)
        .select_from(pa.join(table, table.c[id_column] == pa.c.entity_id))
        .where(
            pa.c.policy_id == policy_id,
            pa.c.entity_type == kind,
            pa.c.account_id == account_id,
            table.c.path.startswith(path_prefix, autoescape=True),
        )
        .order_by(table.c.name_key)
    )
    return list(conn.execute(stmt))


def boundary_entities(
    conn: Connection, arn: str, account_id: str, kind: str, path_prefix: str
) -> list[Row[Any]]:
    """The users or roles of `account_id` whose permissions boundary is this policy: (id, name)."""
    table, id_column = NAMED_ENTITIES[kind]
    stmt = (
        select(table.c[id_column].label("entity_id"), table.c.name)
        .where(
            table.c.permissions_boundary == arn,
            table.c.account_id == account_id,
            table.c.path.startswith(path_prefix, autoescape=True),
        )
        .order_by(table.c.name_key)
    )
    return list(conn.execute(stmt))


def accounts_attached(conn: Connection, policy_id: str) -> list[str]:
    """The accounts where a policy is attached or is a boundary: whose permissions change with it."""
    arn = select(managed_policies.c.arn).where(managed_policies.c.policy_id == policy_id).scalar_subquery()
    found = set(
        conn.execute(
            select(policy_attachments.c.account_id).where(policy_attachments.c.policy_id == policy_id)
        ).scalars()
    )
    for table in (users, roles):
        found.update(
            conn.execute(select(table.c.account_id).where(table.c.permissions_boundary == arn)).scalars()
        )
    return sorted(found)


# -- AWS managed policies ---------------------------------------------------------------------


def aws_policies(conn: Connection) -> dict[str, Row[Any]]:
    """Every AWS managed policy already stored, by ARN."""
    stmt = select(managed_policies).where(managed_policies.c.account_id == AWS_ACCOUNT)
    return {r.arn: r for r in conn.execute(stmt)}


def insert_many(conn: Connection, policies: list[dict[str, Any]], versions: list[dict[str, Any]]) -> None:
    """Bulk insert of policies and their versions (rows as the tables' columns)."""
    if policies:
        conn.execute(managed_policies.insert(), policies)
    if versions:
        conn.execute(policy_versions.insert(), versions)
