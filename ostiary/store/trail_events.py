"""The audit trail's events: one row per CloudTrail record, with the columns LookupEvents filters on,
and one row per resource an event names (LookupEvents' ResourceType and ResourceName)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
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
from sqlalchemy.exc import DBAPIError

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

# Migration 0018: keyed by what LookupEvents finds them by, so that a batch's rows go where their names'
# recent rows are (an event's own resources are read from its record).
trail_resources = Table(
    "trail_resources",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("resource_name", String(2048), primary_key=True),
    Column("event_time", DateTime(timezone=True), primary_key=True),  # the event's: pages in time order
    Column("event_id", String(36), primary_key=True),
    Column("resource_type", String(128), primary_key=True),
    Index("ix_trail_resources_account_type", "account_id", "resource_type", "event_time", "event_id"),
    sqlite_with_rowid=False,
)


class StoredEvent(NamedTuple):
    """One event as stored: the lookup columns (in the table's order), its record's JSON and its
    resources (type, name)."""

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


# What a lookup column holds for a NUL character: PostgreSQL's text refuses one (and the writer would retry
# its batch forever), SQLite takes it; both stores hold and find the same value. (A record's JSON escapes
# it; IAM's model validation refuses a NUL before a call is recorded, the gateway's paths may not.)
NUL_STAND_IN = "\ufffd"


def _text(value: str | None) -> str | None:
    return value if value is None or "\x00" not in value else value.replace("\x00", NUL_STAND_IN)


def insert(conn: Connection, events: Sequence[StoredEvent]) -> None:
    """Insert new events (an event id the table holds already breaks its primary key).

    On the driver, rows as tuples: SQLAlchemy's per-row parameter dicts and bind processing cost more
    than SQLite's own work; on PostgreSQL with COPY (a third of executemany's client CPU). Each value
    is bound as SQLAlchemy binds it (`_Binding`), so that what SQLAlchemy reads back is the same."""
    if not events:
        return
    binding = _binding(conn.dialect)
    rows = []
    resources: list[tuple[Any, ...]] = []
    last: tuple[datetime | None, Any] = (None, None)  # events in a row share their time: bound once
    for e in events:
        if e.event_time is not last[0]:
            last = (e.event_time, binding.time(e.event_time))
        at = last[1]
        event_name, source, username, key = (
            _text(value) for value in (e.event_name, e.event_source, e.username, e.access_key_id)
        )
        rows.append((*e[:2], at, event_name, source, binding.boolean(e.read_only), username, key, e.record))
        resources.extend(
            (e.account_id, _text(name), at, e.event_id, _text(kind)) for kind, name in e.resources
        )
    if binding.copy:
        _copy(conn, trail_events, rows)
        _copy(conn, trail_resources, resources)
        return
    conn.exec_driver_sql(binding.insert_events, rows)
    if resources:
        conn.exec_driver_sql(binding.insert_resources, resources)


def _copy(conn: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """COPY rows into a PostgreSQL table on the driver (psycopg); its errors are SQLAlchemy's, as an
    INSERT's would be (a broken key: IntegrityError)."""
    if not rows:
        return
    statement = f"COPY {table.name} ({', '.join(c.name for c in table.columns)}) FROM STDIN"
    driver: Any = conn.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error) from exc


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
            stmt = stmt.where(r.account_id == account_id, r[f.column] == _text(str(f.value)))
            order = r
        else:
            stmt = stmt.where(t[f.column] == (_text(f.value) if isinstance(f.value, str) else f.value))
    if start is not None:
        stmt = stmt.where(order.event_time >= start)
    if end is not None:
        stmt = stmt.where(order.event_time <= end)
    if after is not None:
        at, event_id = after
        stmt = stmt.where(or_(order.event_time < at, and_(order.event_time == at, order.event_id < event_id)))
    stmt = stmt.order_by(order.event_time.desc(), order.event_id.desc()).limit(limit)
    rows: dict[str, Any] = {}
    for row in conn.execute(stmt):  # an event naming the resource twice (two types) comes once
        rows.setdefault(row.event_id, row)
    return list(rows.values())


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


class _Binding(NamedTuple):
    """How a dialect's driver takes the trail's rows: the INSERT statements in its parameter style,
    and SQLAlchemy's bind processors of the columns whose values it converts (a datetime to SQLite's
    text, a boolean to SQLite's integer)."""

    insert_events: str
    insert_resources: str
    time: Callable[[datetime], Any]
    boolean: Callable[[bool], Any]
    copy: bool  # PostgreSQL: COPY rather than INSERT


_bindings: dict[tuple[type, str], _Binding] = {}


def _binding(dialect: Dialect) -> _Binding:
    """The binding of a kind of dialect, made once (each engine has a dialect object of its own)."""
    kind = (type(dialect), dialect.paramstyle)
    found = _bindings.get(kind)
    if found is None:
        found = _bindings[kind] = _binding_of(dialect)
    return found


def _binding_of(dialect: Dialect) -> _Binding:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"

    def statement(table: Table) -> str:
        names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in table.columns)
        return f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([mark] * len(table.columns))})"

    def processor(column: Column[Any]) -> Callable[[Any], Any]:
        found = column.type.dialect_impl(dialect).bind_processor(dialect)
        return found if found is not None else _same

    t = trail_events.c
    return _Binding(
        statement(trail_events),
        statement(trail_resources),
        processor(t.event_time),
        processor(t.read_only),
        dialect.name == "postgresql" and dialect.driver == "psycopg",
    )


def _same(value: Any) -> Any:
    return value


def checkpoint(conn: Connection) -> None:
    """On SQLite, copy the write-ahead log into the database now (PASSIVE: never waits on readers), so
    that the trail's inserts do not leave the checkpoint to the next request that commits."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
