"""SSH public keys of users (for CodeCommit): the key as uploaded, its MD5 fingerprint and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ostiary.store.tables import ssh_public_keys


def insert(
    conn: Connection,
    *,
    key_id: str,
    account_id: str,
    user_id: str,
    body: str,
    fingerprint: str,
    now: datetime,
) -> None:
    """Add a key; the same fingerprint twice for one user breaks the (user, fingerprint) constraint."""
    conn.execute(
        ssh_public_keys.insert().values(
            ssh_public_key_id=key_id,
            account_id=account_id,
            user_id=user_id,
            body=body,
            fingerprint=fingerprint,
            status="Active",
            uploaded_at=now,
        )
    )


def of_user(conn: Connection, user_id: str) -> list[Row[Any]]:
    """The user's keys, oldest first."""
    return list(
        conn.execute(
            select(ssh_public_keys)
            .where(ssh_public_keys.c.user_id == user_id)
            .order_by(ssh_public_keys.c.uploaded_at, ssh_public_keys.c.ssh_public_key_id)
        )
    )


def count_of_user(conn: Connection, user_id: str) -> int:
    stmt = select(func.count()).select_from(ssh_public_keys).where(ssh_public_keys.c.user_id == user_id)
    return int(conn.execute(stmt).scalar() or 0)


def has_fingerprint(conn: Connection, user_id: str, fingerprint: str) -> bool:
    stmt = select(ssh_public_keys.c.ssh_public_key_id).where(
        ssh_public_keys.c.user_id == user_id, ssh_public_keys.c.fingerprint == fingerprint
    )
    return conn.execute(stmt).first() is not None


def get(conn: Connection, user_id: str, key_id: str) -> Row[Any] | None:
    """The user's key of this id, or None (another user's key is not found)."""
    return conn.execute(
        select(ssh_public_keys).where(
            ssh_public_keys.c.ssh_public_key_id == key_id, ssh_public_keys.c.user_id == user_id
        )
    ).first()


def set_status(conn: Connection, key_id: str, status: str) -> None:
    conn.execute(
        update(ssh_public_keys).where(ssh_public_keys.c.ssh_public_key_id == key_id).values(status=status)
    )


def delete_key(conn: Connection, key_id: str) -> None:
    conn.execute(delete(ssh_public_keys).where(ssh_public_keys.c.ssh_public_key_id == key_id))
