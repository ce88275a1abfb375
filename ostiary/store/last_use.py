"""When credentials were last used, beyond access keys: a user's console password (PasswordLastUsed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, update

from ostiary.store.tables import users

# AWS records only the first use of a password in any 5-minute span.
PASSWORD_USE_SPAN = timedelta(minutes=5)


def record_password_use(conn: Connection, user_id: str, now: datetime) -> None:
    """Set the user's PasswordLastUsed to `now`, unless a use was recorded less than 5 minutes before."""
    last = users.c.password_last_used_at
    conn.execute(
        update(users)
        .where(users.c.user_id == user_id, or_(last.is_(None), last <= now - PASSWORD_USE_SPAN))
        .values(password_last_used_at=now)
    )
