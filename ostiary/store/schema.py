"""Whether a database holds Ostiary's schema: the admin commands refuse one that does not."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from ostiary.store.db import Database


def is_created(db: Database) -> bool:
    """Whether the database has been migrated by `ostiary serve` (it has Alembic's version table)."""
    try:
        return bool(inspect(db.engine).has_table("alembic_version"))
    except SQLAlchemyError:
        return False
