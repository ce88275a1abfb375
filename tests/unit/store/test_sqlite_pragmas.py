"""Every SQLite connection the store opens enforces foreign keys (WAL alone may be refused)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from ostiary.store.db import Database


def test_every_connection_has_foreign_keys_on(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'o.db'}", pool=False)
    try:
        with db.read() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        db.dispose()
