"""Users: rows of the users table, looked up by case-insensitive name within an account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, exists, select, update

from ostiary.store import access_keys as access_keys_store
from ostiary.store import tags as tag_store
from ostiary.store.pages import Page, fetch_page
from ostiary.store.prepared import Prepared
from ostiary.store.tables import (
    access_keys,
    group_members,
    inline_policies,
    login_profiles,
    mfa_devices,
    policy_attachments,
    service_specific_credentials,
    signing_certificates,
    ssh_public_keys,
    tags,
    users,
)

# The conflicts that stop a DeleteUser, in the order they are checked, with AWS's text (AWS's documented
# order of what to remove first; no recorded response orders them). The service-specific credential's
# text is recorded; the SSH key's and signing certificate's are AWS's as users report them.
_DELETE_CONFLICTS = (
    "Cannot delete entity, must delete login profile first.",
    "Cannot delete entity, must delete access keys first.",
    "Cannot delete entity, must delete certificates first.",  # signing certificates
    "Cannot delete entity, must remove referenced objects first.",  # SSH public keys
    "Cannot delete entity, must remove referenced objects first.",  # service-specific credentials
    "Cannot delete entity, must delete MFA device first.",
    "Cannot delete entity, must delete policies first.",
    "Cannot delete entity, must detach all policies first.",
    "Cannot delete entity, must remove users from group first.",
)


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


_INSERT = Prepared(
    users.insert().values({c: bindparam(c.key) for c in users.c if c.key != "password_last_used_at"})
)


def insert(
    conn: Connection,
    *,
    user_id: str,
    account_id: str,
    name: str,
    path: str,
    boundary: str | None,
    now: datetime,
) -> None:
    """Add a user; a taken name breaks the (account, name_key) constraint."""
    _INSERT.run(
        conn,
        {
            "user_id": user_id,
            "account_id": account_id,
            "name": name,
            "name_key": name.lower(),
            "path": path,
            "permissions_boundary": boundary,
            "created_at": now,
        },
    )


def insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add many users in one statement (a bulk load): each row the users table's columns, `name_key`
    derived from `name` here."""
    if rows:
        conn.execute(users.insert(), [{**row, "name_key": row["name"].lower()} for row in rows])


_FIND = Prepared(
    select(users).where(users.c.account_id == bindparam("account"), users.c.name_key == bindparam("key"))
)
_FIND_LOCKED = Prepared(_FIND.statement.with_for_update())


def find(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Any | None:
    """The user of this name (any case), or None; `lock` holds its row until the transaction ends."""
    return (_FIND_LOCKED if lock else _FIND).first(conn, {"account": account_id, "key": name.lower()})


_FIND_WITH_TAGS = Prepared(
    select(users, tags.c.key.label("tag_key"), tags.c.value.label("tag_value"))
    .select_from(
        users.outerjoin(tags, and_(tags.c.entity_type == "user", tags.c.entity_id == users.c.user_id))
    )
    .where(users.c.account_id == bindparam("account"), users.c.name_key == bindparam("key"))
    .order_by(*tag_store.ADDED_ORDER)
)


def find_with_tags(conn: Connection, account_id: str, name: str) -> tuple[Any, list[tuple[str, str]]] | None:
    """The user of this name (any case) and its tags as (key, value) in the order they were added,
    in one query (GetUser's); or None."""
    found = _FIND_WITH_TAGS.all(conn, {"account": account_id, "key": name.lower()})
    if not found:
        return None
    return found[0], [(r.tag_key, r.tag_value) for r in found if r.tag_key is not None]


def find_by_id(conn: Connection, user_id: str) -> Row[Any] | None:
    return conn.execute(select(users).where(users.c.user_id == user_id)).first()


def page(
    conn: Connection, account_id: str, path_prefix: str | None, marker: str | None, max_items: int | None
) -> Page:
    """One page of the account's users, by name, under a path prefix."""
    stmt = select(users).where(users.c.account_id == account_id)
    if path_prefix and path_prefix != "/":
        stmt = stmt.where(users.c.path.startswith(path_prefix, autoescape=True))
    return fetch_page(conn, stmt, users.c.name_key, marker, max_items)


def update_user(conn: Connection, user_id: str, *, name: str, path: str) -> None:
    """Rename or move a user; a taken name breaks the unique constraint."""
    access_keys_store.note_change(conn)  # the user's keys now sign as another ARN
    conn.execute(
        update(users).where(users.c.user_id == user_id).values(name=name, name_key=name.lower(), path=path)
    )


def set_boundary(conn: Connection, user_id: str, arn: str | None) -> None:
    conn.execute(update(users).where(users.c.user_id == user_id).values(permissions_boundary=arn))


def delete_conflict(conn: Connection, user_id: str) -> str | None:
    """AWS's DeleteConflict text when something still hangs on the user, else None (one query)."""
    checks = (
        exists().where(login_profiles.c.user_id == user_id),
        exists().where(access_keys.c.user_id == user_id),
        exists().where(signing_certificates.c.user_id == user_id),
        exists().where(ssh_public_keys.c.user_id == user_id),
        exists().where(service_specific_credentials.c.user_id == user_id),
        exists().where(mfa_devices.c.user_id == user_id),
        exists().where(inline_policies.c.entity_type == "user", inline_policies.c.entity_id == user_id),
        exists().where(policy_attachments.c.entity_type == "user", policy_attachments.c.entity_id == user_id),
        exists().where(group_members.c.user_id == user_id),
    )
    row = conn.execute(select(*checks)).one()
    for found, message in zip(row, _DELETE_CONFLICTS, strict=True):
        if found:
            return message
    return None


def delete_user(conn: Connection, user_id: str) -> None:
    """Remove a user and its tags."""
    access_keys_store.note_change(conn)
    conn.execute(delete(tags).where(tags.c.entity_type == "user", tags.c.entity_id == user_id))
    conn.execute(delete(users).where(users.c.user_id == user_id))
