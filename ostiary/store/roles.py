"""Roles: rows of the `roles` table, found by name case-insensitively, and what refers to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ostiary.errors import NoSuchEntityException
from ostiary.store.pages import Page, fetch_page
from ostiary.store.tables import (
    inline_policies,
    instance_profile_roles,
    policy_attachments,
    roles,
)


def find_by_name(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Row[Any] | None:
    """The role row (role_id, name, path, trust_policy, max_session_duration, permissions_boundary,
    description, created_at, last_used_at, last_used_region ...) or None; `lock` holds it until the
    transaction ends."""
    stmt = select(roles).where(roles.c.account_id == account_id, roles.c.name_key == name.lower())
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def get(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Row[Any]:
    """The role row, or AWS's NoSuchEntity."""
    row = find_by_name(conn, account_id, name, lock=lock)
    if row is None:
        raise NoSuchEntityException(f"The role with name {name} cannot be found.")
    return row


def by_ids(conn: Connection, role_ids: list[str]) -> list[Row[Any]]:
    if not role_ids:
        return []
    return list(conn.execute(select(roles).where(roles.c.role_id.in_(role_ids)).order_by(roles.c.name_key)))


def insert(conn: Connection, **values: Any) -> None:
    """Add a role; `values` are the columns, `name_key` is derived from `name`."""
    conn.execute(roles.insert().values(name_key=values["name"].lower(), **values))


def insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add many roles in one statement (a bulk load); `name_key` is derived from each `name`."""
    if rows:
        conn.execute(roles.insert(), [{**row, "name_key": row["name"].lower()} for row in rows])


def change(conn: Connection, role_id: str, **values: Any) -> bool:
    """Set some columns of one role; False when there is no such role (deleted meanwhile)."""
    return bool(conn.execute(update(roles).where(roles.c.role_id == role_id).values(**values)).rowcount)


def remove(conn: Connection, role_id: str) -> None:
    conn.execute(delete(roles).where(roles.c.role_id == role_id))


def record_use(conn: Connection, role_id: str, region: str, now: datetime) -> None:
    """Remember that the role was assumed (RoleLastUsed)."""
    change(conn, role_id, last_used_at=now, last_used_region=region)


def page(
    conn: Connection, account_id: str, path_prefix: str | None, marker: str | None, max_items: int | None
) -> Page:
    """One page of the account's roles under `path_prefix`, in name order."""
    stmt = select(roles).where(roles.c.account_id == account_id)
    if path_prefix:
        stmt = stmt.where(func.substr(roles.c.path, 1, len(path_prefix)) == path_prefix)
    return fetch_page(conn, stmt, roles.c.name_key, marker, max_items)


def attached_policy_count(conn: Connection, role_id: str) -> int:
    return _count(
        conn,
        policy_attachments,
        policy_attachments.c.entity_id == role_id,
        policy_attachments.c.entity_type == "role",
    )


def inline_policy_count(conn: Connection, role_id: str) -> int:
    return _count(
        conn, inline_policies, inline_policies.c.entity_id == role_id, inline_policies.c.entity_type == "role"
    )


def instance_profile_count(conn: Connection, role_id: str) -> int:
    return _count(conn, instance_profile_roles, instance_profile_roles.c.role_id == role_id)


def _count(conn: Connection, table: Any, *where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)
