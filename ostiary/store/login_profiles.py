"""Login profiles: a user's console password, stored only as an argon2id hash, and its predecessors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from ostiary.store.tables import login_profiles, password_history

HISTORY_MAX = 24  # the largest PasswordReusePrevention AWS accepts


def get(conn: Connection, user_id: str) -> Row[Any] | None:
    return conn.execute(select(login_profiles).where(login_profiles.c.user_id == user_id)).first()


def insert(
    conn: Connection,
    user_id: str,
    password_hash: str,
    reset_required: bool,
    now: datetime,
    signin_seconds: int | None = None,
) -> None:
    """Add a profile; a second one for the same user breaks the primary key."""
    conn.execute(
        login_profiles.insert().values(
            user_id=user_id,
            password_hash=password_hash,
            password_reset_required=reset_required,
            created_at=now,
            password_changed_at=now,
            max_signin_session_duration=signin_seconds,
        )
    )


def update_profile(
    conn: Connection,
    user_id: str,
    *,
    password_hash: str | None,
    reset_required: bool | None,
    now: datetime,
    signin: dict[str, int | None] | None = None,
) -> None:
    """Change the profile; a new password puts the old one's hash in the user's history. `signin` sets
    (or, with None, clears) `max_signin_session_duration`."""
    values: dict[str, Any] = dict(signin or {})
    if password_hash is not None:
        _remember(conn, user_id, now)
        values.update(password_hash=password_hash, password_changed_at=now)
    if reset_required is not None:
        values["password_reset_required"] = reset_required
    if values:
        conn.execute(update(login_profiles).where(login_profiles.c.user_id == user_id).values(**values))


def delete_profile(conn: Connection, user_id: str, now: datetime) -> None:
    """Delete the profile, keeping its password in the history (a new profile may not reuse it)."""
    _remember(conn, user_id, now)
    conn.execute(delete(login_profiles).where(login_profiles.c.user_id == user_id))


def recent_hashes(conn: Connection, user_id: str, count: int) -> list[str]:
    """The hashes of the user's last `count` passwords, newest first: the current one, then the history."""
    current = get(conn, user_id)
    hashes = [current.password_hash] if current is not None else []
    stmt = (
        select(password_history.c.password_hash)
        .where(password_history.c.user_id == user_id)
        .order_by(password_history.c.history_id.desc())
        .limit(count)
    )
    hashes += conn.execute(stmt).scalars()
    return hashes[:count]


def _remember(conn: Connection, user_id: str, now: datetime) -> None:
    """Put the current password's hash in the history, keeping the newest HISTORY_MAX."""
    current = get(conn, user_id)
    if current is None:
        return
    history = password_history.c
    conn.execute(
        password_history.insert().values(user_id=user_id, password_hash=current.password_hash, changed_at=now)
    )
    stale = (
        select(history.history_id)
        .where(history.user_id == user_id)
        .order_by(history.history_id.desc())
        .offset(HISTORY_MAX)
    )
    old_ids = list(conn.execute(stale).scalars())
    if old_ids:
        conn.execute(delete(password_history).where(history.history_id.in_(old_ids)))
