"""Access keys: long-term keys of users and of account roots, secrets sealed by the keyring."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, select, update

from ostiary.store import changes as changes_
from ostiary.store.keyring import Keyring
from ostiary.store.tables import access_keys, users

_PURPOSE = b"access-key:"


@dataclass(frozen=True)
class KeyOwner:
    """An access key with its owner: a user (name, path, id) or, when user_id is None, the root."""

    access_key_id: str
    account_id: str
    status: str
    user_id: str | None
    user_name: str | None
    user_path: str | None
    secret: str = field(repr=False)


_changes = 0


def changes() -> int:
    """How many times this process changed a key or a key's owner: caches of key owners compare it."""
    return _changes


def note_change(conn: Connection | None = None) -> None:
    """Record a change to a key or its owner (status, deletion, the user's name or path), and, in the
    transaction of `conn`, tell the other nodes (none given: another node's change, heard of)."""
    global _changes
    _changes += 1
    if conn is not None:
        changes_.announce(conn, changes_.KEYS)


def seal_secret(keyring: Keyring, access_key_id: str, secret: str) -> bytes:
    return keyring.seal(secret.encode(), _PURPOSE + access_key_id.encode())


def open_secret(keyring: Keyring, access_key_id: str, sealed: bytes) -> str:
    return keyring.open(sealed, _PURPOSE + access_key_id.encode()).decode()


# Built once: the request path runs it on every call.
_FIND_OWNER = (
    select(access_keys, users.c.name, users.c.path)
    .select_from(access_keys.outerjoin(users, users.c.user_id == access_keys.c.user_id))
    .where(access_keys.c.access_key_id == bindparam("key"))
)


def find_owner(conn: Connection, keyring: Keyring, access_key_id: str) -> KeyOwner | None:
    """The key and its owner, with the secret opened, or None when no such key exists."""
    row = conn.execute(_FIND_OWNER, {"key": access_key_id}).first()
    if row is None:
        return None
    return KeyOwner(
        access_key_id=row.access_key_id,
        account_id=row.account_id,
        status=row.status,
        user_id=row.user_id,
        user_name=row.name,
        user_path=row.path,
        secret=open_secret(keyring, row.access_key_id, row.secret_sealed),
    )


def insert(
    conn: Connection,
    keyring: Keyring,
    *,
    access_key_id: str,
    secret: str,
    account_id: str,
    user_id: str | None,
    now: datetime,
    status: str = "Active",
) -> None:
    conn.execute(
        access_keys.insert().values(
            access_key_id=access_key_id,
            account_id=account_id,
            user_id=user_id,
            secret_sealed=seal_secret(keyring, access_key_id, secret),
            status=status,
            created_at=now,
        )
    )


def root_key_ids(conn: Connection, account_id: str) -> list[str]:
    rows = conn.execute(
        select(access_keys.c.access_key_id).where(
            access_keys.c.account_id == account_id, access_keys.c.user_id.is_(None)
        )
    )
    return [r[0] for r in rows]


def record_use(conn: Connection, access_key_id: str, service: str, region: str, now: datetime) -> None:
    conn.execute(
        update(access_keys)
        .where(access_keys.c.access_key_id == access_key_id)
        .values(last_used_at=now, last_used_service=service, last_used_region=region)
    )


def of_owner(conn: Connection, account_id: str, user_id: str | None) -> list[Row[Any]]:
    """The keys of a user (or of the root when user_id is None), oldest first, without secrets."""
    owner = access_keys.c.user_id.is_(None) if user_id is None else access_keys.c.user_id == user_id
    return list(
        conn.execute(
            select(access_keys.c.access_key_id, access_keys.c.status, access_keys.c.created_at)
            .where(access_keys.c.account_id == account_id, owner)
            .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
        )
    )


def count_of_owner(conn: Connection, account_id: str, user_id: str | None) -> int:
    owner = access_keys.c.user_id.is_(None) if user_id is None else access_keys.c.user_id == user_id
    return int(
        conn.execute(
            select(func.count()).select_from(access_keys).where(access_keys.c.account_id == account_id, owner)
        ).scalar()
        or 0
    )


def get(conn: Connection, account_id: str, access_key_id: str) -> Row[Any] | None:
    """A key of this account with its owner's name (None for the root), without opening the secret."""
    return conn.execute(
        select(
            access_keys.c.access_key_id,
            access_keys.c.user_id,
            access_keys.c.status,
            access_keys.c.created_at,
            access_keys.c.last_used_at,
            access_keys.c.last_used_service,
            access_keys.c.last_used_region,
            users.c.name.label("user_name"),
        )
        .select_from(access_keys.outerjoin(users, users.c.user_id == access_keys.c.user_id))
        .where(access_keys.c.access_key_id == access_key_id, access_keys.c.account_id == account_id)
    ).first()  # type: ignore[return-value]  # a row typed by its 8 columns; callers read it by name


def set_status(conn: Connection, access_key_id: str, status: str) -> None:
    note_change(conn)
    conn.execute(
        update(access_keys).where(access_keys.c.access_key_id == access_key_id).values(status=status)
    )


def delete_key(conn: Connection, access_key_id: str) -> None:
    note_change(conn)
    conn.execute(delete(access_keys).where(access_keys.c.access_key_id == access_key_id))
