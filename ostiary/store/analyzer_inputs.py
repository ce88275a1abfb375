"""What Access Analyzer's findings are computed from, read in bulk for one account: roles and their trust
policies, users and their credentials, each identity's policy documents, the resource policies the gateway
holds, and the account's trail since a moment."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from ostiary.store.resources import gateway_resources
from ostiary.store.tables import (
    access_keys,
    group_members,
    inline_policies,
    login_profiles,
    managed_policies,
    policy_attachments,
    policy_versions,
    roles,
    tags,
    users,
)
from ostiary.store.trail_events import trail_events

TRAIL_ROWS_READ = 200_000
_CHUNK = 500  # bounded IN lists  # the newest events of the period read at most, per computation


def account_roles(conn: Connection, account: str) -> list[Row[Any]]:
    """The account's roles: id, name, path, trust policy, service-linked name, created and last used."""
    r = roles
    columns = (
        r.c.role_id,
        r.c.name,
        r.c.path,
        r.c.trust_policy,
        r.c.service_linked,
        r.c.created_at,
        r.c.last_used_at,
    )
    return list(conn.execute(select(*columns).where(r.c.account_id == account).order_by(r.c.name_key)))


def account_users(conn: Connection, account: str) -> list[Row[Any]]:
    """The account's users with their password's creation (None: no console password) and last use."""
    u, lp = users, login_profiles
    stmt = (
        select(
            u.c.user_id,
            u.c.name,
            u.c.path,
            u.c.created_at,
            u.c.password_last_used_at,
            lp.c.created_at.label("password_created_at"),
        )
        .select_from(u.outerjoin(lp, lp.c.user_id == u.c.user_id))
        .where(u.c.account_id == account)
        .order_by(u.c.name_key)
    )
    return list(conn.execute(stmt))


def user_access_keys(conn: Connection, account: str) -> dict[str, list[Row[Any]]]:
    """The active access keys of the account's users, per user id."""
    k = access_keys
    stmt = (
        select(k.c.access_key_id, k.c.user_id, k.c.created_at, k.c.last_used_at)
        .where((k.c.account_id == account) & k.c.user_id.is_not(None) & (k.c.status == "Active"))
        .order_by(k.c.created_at, k.c.access_key_id)
    )
    out: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in conn.execute(stmt):
        out[str(row.user_id)].append(row)
    return out


def identity_documents(conn: Connection, kind: str, ids: list[str]) -> dict[str, list[str]]:
    """The policy documents of users or roles (`kind`), per id: inline, attached managed (default
    version), and for a user those of its groups. A few queries per 500 entities."""
    out = _documents(conn, kind, ids)
    if kind == "user":
        gm = group_members
        member_of: dict[str, list[str]] = defaultdict(list)
        for start in range(0, len(ids), _CHUNK):
            stmt = select(gm.c.user_id, gm.c.group_id).where(gm.c.user_id.in_(ids[start : start + _CHUNK]))
            for row in conn.execute(stmt):
                member_of[str(row.user_id)].append(str(row.group_id))
        groups = _documents(conn, "group", sorted({g for gs in member_of.values() for g in gs}))
        for user_id, group_ids in member_of.items():
            for group_id in group_ids:
                out[user_id].extend(groups.get(group_id, []))
    return out


def _documents(conn: Connection, kind: str, ids: list[str]) -> dict[str, list[str]]:
    """Inline and attached (default version) documents of one kind of entity, per id."""
    out: dict[str, list[str]] = defaultdict(list)
    ip, pa, mp, pv = inline_policies, policy_attachments, managed_policies, policy_versions
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        inline = select(ip.c.entity_id, ip.c.document).where(
            (ip.c.entity_type == kind) & ip.c.entity_id.in_(chunk)
        )
        attached = (
            select(pa.c.entity_id, pv.c.document)
            .select_from(
                pa.join(mp, mp.c.policy_id == pa.c.policy_id).join(
                    pv, (pv.c.policy_id == mp.c.policy_id) & (pv.c.version_id == mp.c.default_version)
                )
            )
            .where((pa.c.entity_type == kind) & pa.c.entity_id.in_(chunk))
        )
        for stmt in (inline, attached):
            for row in conn.execute(stmt):
                out[str(row.entity_id)].append(str(row.document))
    return out


def entity_tags(conn: Connection, kind: str, ids: list[str]) -> dict[str, dict[str, str]]:
    """The tags of users or roles (`kind`), per id."""
    t = tags
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for start in range(0, len(ids), _CHUNK):
        stmt = select(t.c.entity_id, t.c.key, t.c.value).where(
            (t.c.entity_type == kind) & t.c.entity_id.in_(ids[start : start + _CHUNK])
        )
        for row in conn.execute(stmt):
            out[str(row.entity_id)][str(row.key)] = str(row.value)
    return out


def resource_policies(conn: Connection, account: str) -> list[Row[Any]]:
    """The gateway's resources owned by the account that hold a policy: service, region, name, policy."""
    g = gateway_resources
    stmt = (
        select(g.c.service, g.c.region, g.c.name, g.c.policy)
        .where((g.c.owner_account == account) & g.c.policy.is_not(None))
        .order_by(g.c.service, g.c.region, g.c.name)
    )
    return list(conn.execute(stmt))


def trail_records(
    conn: Connection, account: str, since: datetime
) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """The account's events since `since`, newest first (at most TRAIL_ROWS_READ): (time, record)."""
    t = trail_events
    stmt = (
        select(t.c.event_time, t.c.record)
        .where((t.c.account_id == account) & (t.c.event_time >= since))
        .order_by(t.c.event_time.desc())
        .limit(TRAIL_ROWS_READ)
    )
    for row in conn.execute(stmt):
        try:
            record = json.loads(row.record)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield row.event_time, record
