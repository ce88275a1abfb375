"""The Alembic revision of this Ostiary's schema, and the revision a store is at now."""

from __future__ import annotations

import sqlite3
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ostiary.store.db import Database

_MIGRATIONS = Path(__file__).parent / "migrations"


@cache
def head_revision() -> str:
    """The newest migration's revision (read once per process)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise RuntimeError("the store has no migrations")
    return head


def store_revision(db: Database, timeout: float) -> str | None:
    """The store's Alembic revision, read now; raises when the store does not answer.

    SQLite is asked through a new read-only connection: the server's open connections keep reading a
    file that was deleted or replaced. PostgreSQL through the pool, whose connections are checked.
    """
    url = make_url(db.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        probe = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, timeout=timeout)
        try:
            row = probe.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            probe.close()
        return None if row is None else str(row[0])
    with db.read() as conn:
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)
