"""The audit trail's events: one row per CloudTrail record, with the columns LookupEvents filters on,
and one row per resource an event names (LookupEvents' ResourceType and ResourceName)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    Row,
    String,
    Table,
    Text,
    and_,
    delete,
    or_,
    select,
)

from ostiary.store.tables import metadata

# Migration 0011. No foreign key to accounts: an event outlives the user, role or account it names.
trail_events = Table(
    "trail_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),  # recipientAccountId: whose trail holds it
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("event_source", String(128), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("username", String(256)),
    Column("access_key_id", String(128)),
    Column("record", Text, nullable=False),  # the CloudTrail record, as JSON
    Index("ix_trail_events_account_time", "account_id", "event_time", "event_id"),
    Index("ix_trail_events_account_name", "account_id", "event_name", "event_time"),
    Index("ix_trail_events_account_user", "account_id", "username", "event_time"),
    Index("ix_trail_events_account_key", "account_id", "access_key_id", "event_time"),
    Index("ix_trail_events_account_source", "account_id", "event_source", "event_time"),
)

trail_resources = Table(
    "trail_resources",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("position", String(4), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),  # the event's: pages in time order
    Column("resource_type", String(128)),
    Column("resource_name", String(2048)),
    Index("ix_trail_resources_account_type", "account_id", "resource_type", "event_time", "event_id"),
    Index("ix_trail_resources_account_name", "account_id", "resource_name", "event_time", "event_id"),
)


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored: the lookup columns, its resources (type, name) and its record's JSON."""

    event_id: str
    account_id: str
    event_time: datetime
    event_name: str
    event_source: str
    read_only: bool
    username: str | None
    access_key_id: str | None
    record: str
    resources: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True)
class Filter:
    """One LookupEvents attribute: the column it tests ("resource_type"/"resource_name" test the
    event's resources) and the value it must equal."""

    column: str
    value: str | bool


def insert(conn: Connection, events: Sequence[StoredEvent]) -> None:
    """Insert new events (an event id the table holds already breaks its primary key)."""
    if not events:
        return
    conn.execute(trail_events.insert(), [_row(e) for e in events])
    resources = _resource_rows(events)
    if resources:
        conn.execute(trail_resources.insert(), resources)


def insert_new(conn: Connection, events: Sequence[StoredEvent]) -> int:
    """Insert the events the table does not hold yet (a replayed file may repeat some); their count."""
    if not events:
        return 0
    ids = [event.event_id for event in events]
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        known.update(
            conn.execute(select(trail_events.c.event_id).where(trail_events.c.event_id.in_(chunk))).scalars()
        )
    fresh: dict[str, StoredEvent] = {e.event_id: e for e in events if e.event_id not in known}
    if not fresh:
        return 0
    insert(conn, list(fresh.values()))
    return len(fresh)


def page(
    conn: Connection,
    account_id: str,
    filters: Iterable[Filter],
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to `limit` events of the account, newest first, that match every filter and the time range;
    `after` (time, event id) is the last event of the previous page."""
    t = trail_events.c
    columns = (t.event_id, t.event_time, t.event_name, t.event_source, t.read_only, t.username)
    stmt = select(*columns, t.access_key_id, t.record).where(t.account_id == account_id)
    order: Any = t  # whose (event_time, event_id) the page walks: the resources' index when filtered by one
    for f in filters:
        if f.column in ("resource_type", "resource_name"):
            r = trail_resources.c
            stmt = stmt.join_from(trail_events, trail_resources, r.event_id == t.event_id)
            stmt = stmt.where(r.account_id == account_id, r[f.column] == f.value)
            order = r
        else:
            stmt = stmt.where(t[f.column] == f.value)
    if start is not None:
        stmt = stmt.where(order.event_time >= start)
    if end is not None:
        stmt = stmt.where(order.event_time <= end)
    if after is not None:
        at, event_id = after
        stmt = stmt.where(or_(order.event_time < at, and_(order.event_time == at, order.event_id < event_id)))
    stmt = stmt.order_by(order.event_time.desc(), order.event_id.desc()).limit(limit)
    rows: dict[str, Row[Any]] = {}
    for row in conn.execute(stmt):  # an event naming the resource twice (two types) comes once
        rows.setdefault(row.event_id, row)
    return list(rows.values())


def resources_of(
    conn: Connection, event_ids: Sequence[str]
) -> dict[str, list[tuple[str | None, str | None]]]:
    """The resources (type, name) of each event, in the order the event names them."""
    found: dict[str, list[tuple[str | None, str | None]]] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return found
    r = trail_resources.c
    rows = conn.execute(
        select(r.event_id, r.position, r.resource_type, r.resource_name).where(
            r.event_id.in_(list(event_ids))
        )
    )
    for row in sorted(rows, key=lambda row: (row.event_id, int(row.position))):
        found[row.event_id].append((row.resource_type, row.resource_name))
    return found


def delete_before(conn: Connection, cutoff: datetime) -> int:
    """Remove the events older than `cutoff` (the retention setting); their count."""
    conn.execute(delete(trail_resources).where(trail_resources.c.event_time < cutoff))
    return conn.execute(delete(trail_events).where(trail_events.c.event_time < cutoff)).rowcount


def since(conn: Connection, start: datetime, account_id: str | None = None) -> Iterable[Row[Any]]:
    """Every event from `start` on, oldest first (for `ostiary trail export`)."""
    t = trail_events.c
    stmt = select(t.account_id, t.event_time, t.record).where(t.event_time >= start)
    if account_id is not None:
        stmt = stmt.where(t.account_id == account_id)
    return conn.execute(stmt.order_by(t.event_time, t.event_id))


def _resource_rows(events: Iterable[StoredEvent]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": e.event_id,
            "position": str(i),
            "account_id": e.account_id,
            "event_time": e.event_time,
            "resource_type": kind,
            "resource_name": name,
        }
        for e in events
        for i, (kind, name) in enumerate(e.resources)
    ]


def _row(event: StoredEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "account_id": event.account_id,
        "event_time": event.event_time,
        "event_name": event.event_name,
        "event_source": event.event_source,
        "read_only": event.read_only,
        "username": event.username,
        "access_key_id": event.access_key_id,
        "record": event.record,
    }


def checkpoint(conn: Connection) -> None:
    """On SQLite, copy the write-ahead log into the database now (PASSIVE: never waits on readers), so
    that the trail's inserts do not leave the checkpoint to the next request that commits."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
