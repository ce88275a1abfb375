"""Instance profiles and the (at most one) role each holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, select

from ostiary.errors import NoSuchEntityException
from ostiary.store.pages import Page, fetch_page
from ostiary.store.tables import instance_profile_roles, instance_profiles, roles


def find_by_name(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Row[Any] | None:
    """The instance profile row or None; `lock` holds it (FOR UPDATE) until the transaction ends."""
    stmt = select(instance_profiles).where(
        instance_profiles.c.account_id == account_id, instance_profiles.c.name_key == name.lower()
    )
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def get(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Row[Any]:
    """The instance profile row, or AWS's NoSuchEntity."""
    row = find_by_name(conn, account_id, name, lock=lock)
    if row is None:
        raise NoSuchEntityException(f"Instance Profile {name} cannot be found.")
    return row


def insert(conn: Connection, **values: Any) -> None:
    conn.execute(instance_profiles.insert().values(name_key=values["name"].lower(), **values))


def remove(conn: Connection, profile_id: str) -> None:
    links = instance_profile_roles.c.instance_profile_id == profile_id
    conn.execute(delete(instance_profile_roles).where(links))
    conn.execute(delete(instance_profiles).where(instance_profiles.c.instance_profile_id == profile_id))


def role_ids(conn: Connection, profile_id: str) -> list[str]:
    stmt = select(instance_profile_roles.c.role_id).where(
        instance_profile_roles.c.instance_profile_id == profile_id
    )
    return [r[0] for r in conn.execute(stmt)]


def roles_by_profile(conn: Connection, profile_ids: list[str]) -> dict[str, list[Row[Any]]]:
    """The roles in each of these instance profiles, by name (one query for a whole page)."""
    ipr = instance_profile_roles
    stmt = (
        select(ipr.c.instance_profile_id.label("profile_id"), roles)
        .select_from(ipr.join(roles, roles.c.role_id == ipr.c.role_id))
        .where(ipr.c.instance_profile_id.in_(profile_ids))
        .order_by(roles.c.name_key)
    )
    found: dict[str, list[Row[Any]]] = {profile_id: [] for profile_id in profile_ids}
    for row in conn.execute(stmt):
        found[row.profile_id].append(row)
    return found


def add_role(conn: Connection, profile_id: str, role_id: str) -> None:
    conn.execute(instance_profile_roles.insert().values(instance_profile_id=profile_id, role_id=role_id))


def remove_role(conn: Connection, profile_id: str, role_id: str) -> bool:
    """Take the role out of the profile; False when it was not in it."""
    link = instance_profile_roles.c
    result = conn.execute(
        delete(instance_profile_roles).where(link.instance_profile_id == profile_id, link.role_id == role_id)
    )
    return result.rowcount > 0


def page(
    conn: Connection, account_id: str, path_prefix: str | None, marker: str | None, max_items: int | None
) -> Page:
    """One page of the account's instance profiles under `path_prefix`, in name order."""
    stmt = select(instance_profiles).where(instance_profiles.c.account_id == account_id)
    if path_prefix:
        stmt = stmt.where(func.substr(instance_profiles.c.path, 1, len(path_prefix)) == path_prefix)
    return fetch_page(conn, stmt, instance_profiles.c.name_key, marker, max_items)


def page_for_role(conn: Connection, role_id: str, marker: str | None, max_items: int | None) -> Page:
    """One page of the instance profiles that hold a role, in name order."""
    stmt = (
        select(instance_profiles)
        .join(
            instance_profile_roles,
            instance_profile_roles.c.instance_profile_id == instance_profiles.c.instance_profile_id,
        )
        .where(instance_profile_roles.c.role_id == role_id)
    )
    return fetch_page(conn, stmt, instance_profiles.c.name_key, marker, max_items)
