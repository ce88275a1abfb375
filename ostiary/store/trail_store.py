"""Where the trail's tables live: the store's companion (`Database.companion`), a SQLite file of their own
beside the server's, so that the trail's writer, which moves thousands of events a second in large
transactions, never holds the write lock IAM's calls wait for; on PostgreSQL, the store itself.

A store from before the trail had its own file holds its events in the server's file: `prepare` moves
them over at the first start (and a restore, which writes every table into the server's file, is
moved over at the next).
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Table, make_url

from ostiary.store import last_access, trail_events
from ostiary.store.db import Database, companion_url

log = logging.getLogger("ostiary.trail")

NAME = "trail"
# The trail's own tables (no foreign keys: an event outlives what it names).
TABLES: tuple[Table, ...] = (
    trail_events.trail_events,
    trail_events.trail_resources,
    last_access.trail_access,
)
_MOVE_ROWS = 50_000  # a transaction's share of a move (each file is locked while it is written)


_prepared: weakref.WeakSet[Database] = weakref.WeakSet()  # in this process


def of(db: Database) -> Database:
    """The database the trail's tables of `db`'s store are read and written in."""
    return db.companion(NAME)


def holding(db: Database) -> str | None:
    """A trail table holding rows in the trail's own file (a store's "not empty" for a restore), or
    None (none does, or the store keeps its trail in its own database)."""
    path = companion_url(db.url, NAME)
    file = Path(make_url(path).database or "") if path else None
    if file is None or not file.is_file() or not file.stat().st_size:
        return None
    conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        for table in TABLES:
            try:
                if conn.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone() is not None:
                    return table.name
            except sqlite3.OperationalError:  # made, never migrated
                return None
    finally:
        conn.close()
    return None


def prepare(db: Database) -> int:
    """Bring the trail's database to the newest schema and move into it the trail rows the server's
    file still holds (an older version's, or a restore's); the number of rows moved."""
    trail = of(db)
    if trail is db or trail in _prepared:
        return 0
    trail.migrate()
    moved = sum(_move(db, trail, table) for table in TABLES)
    _prepared.add(trail)
    if moved:
        log.info("trail: %d rows moved into its own file %s", moved, trail.engine.url.database)
    return moved


def _move(db: Database, trail: Database, table: Table) -> int:
    """Copy `table`'s rows from the server's file into the trail's, a batch of keys a transaction (those
    already there kept: a move cut short is taken up again), then delete them all from the server's in
    one statement (SQLite empties a table without reading it; nothing writes these tables in the
    server's file any more). On SQLite's own connection with the server's file attached: the rows
    never pass through Python."""
    conn = sqlite3.connect(str(trail.engine.url.database), isolation_level=None, timeout=30)
    try:
        conn.execute("ATTACH DATABASE ? AS server", (str(db.engine.url.database),))
        key = ", ".join(column.name for column in table.primary_key.columns)
        after: tuple[Any, ...] | None = None
        while True:
            last = conn.execute(
                f"SELECT {key} FROM server.{table.name} {_after(key, after)} ORDER BY {key} LIMIT 1 OFFSET ?",
                (*(after or ()), _MOVE_ROWS - 1),
            ).fetchone()
            _copy_batch(conn, table, key, after, last)
            if last is None:
                return _delete_all(conn, table)
            after = tuple(last)
    finally:
        conn.close()


def _after(key: str, after: tuple[Any, ...] | None) -> str:
    return f"WHERE ({key}) > ({', '.join('?' * len(after))})" if after is not None else ""


def _copy_batch(
    conn: sqlite3.Connection, table: Table, key: str, after: tuple[Any, ...] | None, last: Any
) -> None:
    """Copy the rows after the key `after` up to the key `last` (None: to the end)."""
    columns = ", ".join(column.name for column in table.columns)
    where = _after(key, after)
    if last is not None:
        where += f"{' AND' if where else 'WHERE'} ({key}) <= ({', '.join('?' * len(last))})"
    with conn:  # BEGIN (deferred: only the trail's file is written) ... COMMIT
        conn.execute("BEGIN")
        conn.execute(
            f"INSERT OR IGNORE INTO main.{table.name} ({columns}) "
            f"SELECT {columns} FROM server.{table.name} {where}",
            (*(after or ()), *(last or ())),
        )


def _delete_all(conn: sqlite3.Connection, table: Table) -> int:
    with conn:
        conn.execute("BEGIN")
        return int(conn.execute(f"DELETE FROM server.{table.name}").rowcount)
