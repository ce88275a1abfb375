"""Failed MFA codes and passwords per subject: rows of `failed_attempts`, read locked and written back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ostiary.store.tables import failed_attempts
from ostiary.store.users import utc


def lock(conn: Connection, subject: str) -> dict[str, Any]:
    """The subject's counts, its row made first when it has none and locked until the transaction ends.

    Making the row first (a no-op when it exists) lets every concurrent attempt wait on one lock, so
    no two attempts count from the same old value.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(failed_attempts)
        .values(subject=subject, failures=0, blocks=0)
        .on_conflict_do_nothing(index_elements=["subject"])
    )
    stmt = select(failed_attempts).where(failed_attempts.c.subject == subject).with_for_update()
    row = conn.execute(stmt).one()
    return {
        "failures": row.failures,
        "blocks": row.blocks,
        "window_started_at": utc(row.window_started_at),
        "last_failure_at": utc(row.last_failure_at),
        "blocked_until": utc(row.blocked_until),
    }


def blocked_until(conn: Connection, subject: str) -> datetime | None:
    """Until when the subject is paused, when it is (a plain read: no row is made)."""
    stmt = select(failed_attempts.c.blocked_until).where(failed_attempts.c.subject == subject)
    return utc(conn.execute(stmt).scalar())


def save(conn: Connection, subject: str, **values: Any) -> None:
    """Write the subject's counts (its row exists: `lock` made it)."""
    conn.execute(update(failed_attempts).where(failed_attempts.c.subject == subject).values(**values))


def forget_quiet(conn: Connection, before: datetime) -> None:
    """Drop the subjects with no failure and no pause since `before`: they would start over anyway."""
    quiet = failed_attempts.c.last_failure_at < before
    unpaused = failed_attempts.c.blocked_until.is_(None) | (failed_attempts.c.blocked_until < before)
    conn.execute(delete(failed_attempts).where(quiet, unpaused))


def clear(conn: Connection, subjects: list[str]) -> None:
    """Forget the subjects' failures: a right code or password resets them."""
    conn.execute(delete(failed_attempts).where(failed_attempts.c.subject.in_(subjects)))
