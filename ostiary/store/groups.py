"""Groups and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, exists, func, select, update

from ostiary.store.pages import Page, fetch_page
from ostiary.store.tables import group_members, groups, inline_policies, policy_attachments, users

_DELETE_CONFLICTS = (
    "Cannot delete entity, must remove users from group first.",
    "Cannot delete entity, must delete policies first.",
    "Cannot delete entity, must detach all policies first.",
)


def insert(conn: Connection, *, group_id: str, account_id: str, name: str, path: str, now: datetime) -> None:
    """Add a group; a taken name breaks the (account, name_key) constraint."""
    conn.execute(
        groups.insert().values(
            group_id=group_id,
            account_id=account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            created_at=now,
        )
    )


def find(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Row[Any] | None:
    """The group of this name (any case), or None; `lock` holds its row until the transaction ends."""
    stmt = select(groups).where(groups.c.account_id == account_id, groups.c.name_key == name.lower())
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def page(
    conn: Connection, account_id: str, path_prefix: str | None, marker: str | None, max_items: int | None
) -> Page:
    """One page of the account's groups, by name, under a path prefix."""
    stmt = select(groups).where(groups.c.account_id == account_id)
    if path_prefix and path_prefix != "/":
        stmt = stmt.where(groups.c.path.startswith(path_prefix, autoescape=True))
    return fetch_page(conn, stmt, groups.c.name_key, marker, max_items)


def members_page(conn: Connection, group_id: str, marker: str | None, max_items: int | None) -> Page:
    """One page of a group's users, by name."""
    stmt = (
        select(users)
        .select_from(users.join(group_members, group_members.c.user_id == users.c.user_id))
        .where(group_members.c.group_id == group_id)
    )
    return fetch_page(conn, stmt, users.c.name_key, marker, max_items)


def groups_of_user_page(conn: Connection, user_id: str, marker: str | None, max_items: int | None) -> Page:
    """One page of the groups a user belongs to, by name."""
    stmt = (
        select(groups)
        .select_from(groups.join(group_members, group_members.c.group_id == groups.c.group_id))
        .where(group_members.c.user_id == user_id)
    )
    return fetch_page(conn, stmt, groups.c.name_key, marker, max_items)


def update_group(conn: Connection, group_id: str, *, name: str, path: str) -> None:
    conn.execute(
        update(groups)
        .where(groups.c.group_id == group_id)
        .values(name=name, name_key=name.lower(), path=path)
    )


def delete_conflict(conn: Connection, group_id: str) -> str | None:
    """AWS's DeleteConflict text when the group still has members or policies, else None."""
    checks = (
        exists().where(group_members.c.group_id == group_id),
        exists().where(inline_policies.c.entity_type == "group", inline_policies.c.entity_id == group_id),
        exists().where(
            policy_attachments.c.entity_type == "group", policy_attachments.c.entity_id == group_id
        ),
    )
    row = conn.execute(select(*checks)).one()
    for found, message in zip(row, _DELETE_CONFLICTS, strict=True):
        if found:
            return message
    return None


def delete_group(conn: Connection, group_id: str) -> None:
    conn.execute(delete(groups).where(groups.c.group_id == group_id))


def is_member(conn: Connection, group_id: str, user_id: str) -> bool:
    return (
        conn.execute(
            select(exists().where(group_members.c.group_id == group_id, group_members.c.user_id == user_id))
        ).scalar()
        is True
    )


def membership_count(conn: Connection, user_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(group_members).where(group_members.c.user_id == user_id)
        ).scalar()
        or 0
    )


def add_member(conn: Connection, group_id: str, user_id: str) -> None:
    conn.execute(group_members.insert().values(group_id=group_id, user_id=user_id, position=0))


def remove_member(conn: Connection, group_id: str, user_id: str) -> None:
    conn.execute(
        delete(group_members).where(group_members.c.group_id == group_id, group_members.c.user_id == user_id)
    )
