"""Where the trail's tables live: the store's companion (`Database.companion`), a SQLite file of their own
beside the server's, so that the trail's writer, which moves thousands of events a second in large
transactions, never holds the write lock IAM's calls wait for; on PostgreSQL, the store itself.

A store from before the trail had its own file holds its events in the server's file: `prepare` moves
them over at the first start (and a restore, which writes every table into the server's file, is
moved over at the next).
"""

from __future__ import annotations

import logging
import weakref

from sqlalchemy import Table, delete, select, tuple_

from ostiary.store import last_access, trail_events
from ostiary.store.db import Database

log = logging.getLogger("ostiary.trail")

NAME = "trail"
# The trail's own tables (no foreign keys: an event outlives what it names).
TABLES: tuple[Table, ...] = (
    trail_events.trail_events,
    trail_events.trail_resources,
    last_access.trail_access,
)
_MOVE_ROWS = 50_000  # a transaction's share of a move (the server's file is locked while it deletes)


_prepared: weakref.WeakSet[Database] = weakref.WeakSet()  # in this process


def of(db: Database) -> Database:
    """The database the trail's tables of `db`'s store are read and written in."""
    return db.companion(NAME)


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
    """Copy `table`'s rows from `db` into `trail` (those already there kept: a move cut short is taken
    up again), then delete from `db` the rows up to the last copied, in key order, batch by batch.
    Nothing writes these tables in `db` any more, so the rows up to that key are those copied."""
    moved = 0
    key = list(table.primary_key.columns)
    while True:
        with db.read() as conn:
            query = select(table).order_by(*key).limit(_MOVE_ROWS)
            rows = [dict(row) for row in conn.execute(query).mappings()]
        if not rows:
            return moved
        with trail.transaction() as conn:
            conn.execute(table.insert().prefix_with("OR IGNORE"), rows)
        last = rows[-1]
        with db.transaction() as conn:
            conn.execute(delete(table).where(tuple_(*key) <= tuple_(*(last[c.name] for c in key))))
        moved += len(rows)
