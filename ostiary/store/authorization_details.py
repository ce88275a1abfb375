"""What GetAccountAuthorizationDetails reads: every user, group, role and policy of an account, in bulk."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, or_, select

from ostiary.store import policies as policy_store
from ostiary.store import tags as tag_store
from ostiary.store.pages import Section
from ostiary.store.policies import AWS_ACCOUNT
from ostiary.store.tables import (
    NAMED_ENTITIES,
    group_members,
    groups,
    inline_policies,
    instance_profile_roles,
    instance_profiles,
    managed_policies,
    policy_attachments,
    policy_versions,
    tags,
)

# The sections in the order they are listed and paginated.
SECTIONS = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")


def listing(account_id: str, section: str) -> Section:
    """What one section of GetAccountAuthorizationDetails lists, as a Section keyed by lower-cased
    name (User, Group, Role) or ARN (LocalManagedPolicy, and AWSManagedPolicy: the AWS managed
    policies attached in the account or a boundary there), each row (key, id)."""
    prefix = f"{SECTIONS.index(section)}/"
    if section in ("User", "Group", "Role"):
        table, id_column = NAMED_ENTITIES[section.lower()]
        stmt = select(table.c.name_key, table.c[id_column].label("id")).where(
            table.c.account_id == account_id
        )
        return Section(prefix, stmt, table.c.name_key)
    mp = managed_policies
    stmt = select(mp.c.arn, mp.c.policy_id.label("id"))
    if section == "LocalManagedPolicy":
        return Section(prefix, stmt.where(mp.c.account_id == account_id), mp.c.arn)
    used = or_(policy_store.is_attached_in(account_id), policy_store.is_boundary_in(account_id))
    return Section(prefix, stmt.where(mp.c.account_id == AWS_ACCOUNT, used), mp.c.arn)


def entities(conn: Connection, kind: str, ids: list[str]) -> list[Row[Any]]:
    table, id_column = NAMED_ENTITIES[kind]
    return list(conn.execute(select(table).where(table.c[id_column].in_(ids))))


def inline_documents(conn: Connection, kind: str, ids: list[str]) -> dict[str, list[Row[Any]]]:
    """Inline policies (name, document) per entity id, by name."""
    ip = inline_policies
    stmt = (
        select(ip.c.entity_id, ip.c.name, ip.c.document)
        .where(ip.c.entity_type == kind, ip.c.entity_id.in_(ids))
        .order_by(ip.c.name_key)
    )
    return _grouped(conn.execute(stmt))


class AttachedPolicy(NamedTuple):
    entity_id: str
    name: str
    arn: str


def attached(conn: Connection, kind: str, ids: list[str]) -> dict[str, list[AttachedPolicy]]:
    """Attached managed policies (name, arn) per entity id, in the order attached.

    Two index lookups, the attachments then their policies: joined in one query, PostgreSQL's planner
    chose to scan every managed policy for a page's hundred attachments."""
    pa, mp = policy_attachments, managed_policies
    stmt = select(pa.c.entity_id, pa.c.policy_id, pa.c.position).where(
        pa.c.entity_type == kind, pa.c.entity_id.in_(ids)
    )
    links = list(conn.execute(stmt))
    wanted = sorted({link.policy_id for link in links})
    policies = {
        r.policy_id: r
        for r in conn.execute(select(mp.c.policy_id, mp.c.name, mp.c.arn).where(mp.c.policy_id.in_(wanted)))
    }
    ordered = sorted(links, key=lambda link: (link.position, policies[link.policy_id].arn))
    out: dict[str, list[AttachedPolicy]] = defaultdict(list)
    for link in ordered:
        policy = policies[link.policy_id]
        out[link.entity_id].append(AttachedPolicy(link.entity_id, policy.name, policy.arn))
    return out


def entity_tags(conn: Connection, kind: str, ids: list[str]) -> dict[str, list[Row[Any]]]:
    stmt = (
        select(tags.c.entity_id, tags.c.key, tags.c.value)
        .where(tags.c.entity_type == kind, tags.c.entity_id.in_(ids))
        .order_by(*tag_store.ADDED_ORDER)
    )
    return _grouped(conn.execute(stmt))


def group_names(conn: Connection, user_ids: list[str]) -> dict[str, list[Row[Any]]]:
    """The names of each user's groups, in the order the user joined them."""
    gm = group_members
    stmt = (
        select(gm.c.user_id.label("entity_id"), groups.c.name)
        .select_from(gm.join(groups, groups.c.group_id == gm.c.group_id))
        .where(gm.c.user_id.in_(user_ids))
        .order_by(gm.c.position, groups.c.name_key)
    )
    return _grouped(conn.execute(stmt))


def instance_profiles_of(conn: Connection, role_ids: list[str]) -> dict[str, list[Row[Any]]]:
    """The instance profiles of each role."""
    ipr = instance_profile_roles
    stmt = (
        select(ipr.c.role_id.label("entity_id"), instance_profiles)
        .select_from(
            ipr.join(instance_profiles, instance_profiles.c.instance_profile_id == ipr.c.instance_profile_id)
        )
        .where(ipr.c.role_id.in_(role_ids))
        .order_by(instance_profiles.c.name_key)
    )
    return _grouped(conn.execute(stmt))


def versions(conn: Connection, policy_ids: list[str]) -> dict[str, list[Row[Any]]]:
    pv = policy_versions
    stmt = select(pv.c.policy_id.label("entity_id"), pv.c.version_id, pv.c.document, pv.c.created_at).where(
        pv.c.policy_id.in_(policy_ids)
    )
    return _grouped(conn.execute(stmt))


def _grouped(rows: Any) -> dict[str, list[Row[Any]]]:
    out: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        out[row.entity_id].append(row)
    return out
