"""Login profiles: a user's console password, stored only as an argon2id hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from ostiary.store.tables import login_profiles


def get(conn: Connection, user_id: str) -> Row[Any] | None:
    return conn.execute(select(login_profiles).where(login_profiles.c.user_id == user_id)).first()


def insert(conn: Connection, user_id: str, password_hash: str, reset_required: bool, now: datetime) -> None:
    """Add a profile; a second one for the same user breaks the primary key."""
    conn.execute(
        login_profiles.insert().values(
            user_id=user_id,
            password_hash=password_hash,
            password_reset_required=reset_required,
            created_at=now,
            password_changed_at=now,
        )
    )


def update_profile(
    conn: Connection, user_id: str, *, password_hash: str | None, reset_required: bool | None, now: datetime
) -> None:
    values: dict[str, Any] = {}
    if password_hash is not None:
        values.update(password_hash=password_hash, password_changed_at=now)
    if reset_required is not None:
        values["password_reset_required"] = reset_required
    if values:
        conn.execute(update(login_profiles).where(login_profiles.c.user_id == user_id).values(**values))


def delete_profile(conn: Connection, user_id: str) -> None:
    conn.execute(delete(login_profiles).where(login_profiles.c.user_id == user_id))
