"""The store as rows: every table read in one snapshot and written back, for backup and restore.

Rows travel as JSON values (bytes as base64, times as ISO 8601 in UTC), so a SQLite store restores
into PostgreSQL and back. Reading: SQLite is first copied with the online backup API into a private
file in one step (a snapshot no writer can tear); PostgreSQL is read in one read-only REPEATABLE READ
transaction. Writing: into an empty store only, in the caller's one transaction.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    Table,
    create_engine,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ostiary.store import (  # noqa: F401 - their tables join the metadata
    analyzers,
    credential_reports,
    last_access,
    outbound_federation,
    public_access,
    resources,
    saml_assertions,
    trail_events,
    trail_store,
    uploads,
)
from ostiary.store.db import Database, companion_url
from ostiary.store.tables import managed_policies, metadata, policy_versions

AWS_ACCOUNT = "aws"  # the account of the AWS managed policies every store is seeded with


class DumpError(Exception):
    """The store, or a row given to it, cannot be dumped or loaded."""


def migrated(database_url: str) -> Database:
    """The store at `database_url` (no pool), its schema brought to this version's; a DumpError saying
    why when the database cannot be reached."""
    db = Database(database_url, pool=False)
    try:
        db.migrate()
    except SQLAlchemyError as exc:
        db.dispose()
        raise DumpError(f"the database cannot be reached or migrated: {type(exc).__name__}") from exc
    return db


# Derived from the other tables by the database itself (triggers): a restore rebuilds them as it inserts.
DERIVED_TABLES = frozenset({"account_counts"})


def table_names() -> list[str]:
    """Every table of the store a backup holds, each after the tables it refers to."""
    return [table.name for table in metadata.sorted_tables if table.name not in DERIVED_TABLES]


def _table(name: str) -> Table:
    try:
        return metadata.tables[name]
    except KeyError as exc:
        raise DumpError(f"`{name}` is not a table of this Ostiary") from exc


@contextmanager
def snapshot(database_url: str, work: Path) -> Iterator[tuple[Connection, str]]:
    """A connection that sees one moment of the store (a copy in `work` for SQLite), and its kind."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        copy = work / "snapshot.db"
        _sqlite_copy(url.database or "", copy)
        _with_trail(database_url, copy, work)
        engine = create_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as conn:
                yield conn, "sqlite"
        finally:
            engine.dispose()
        return
    engine = create_engine(database_url)
    try:
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn, url.get_backend_name()
    finally:
        engine.dispose()


def _with_trail(database_url: str, copy: Path, work: Path) -> None:
    """Add to the snapshot `copy` the rows of the trail's tables its own file holds (`trail_store`; a
    snapshot of its own, taken just after the store's: the trail is a history, appended to)."""
    trail_url = companion_url(database_url, trail_store.NAME)
    trail_path = make_url(trail_url).database if trail_url else None
    if not trail_path or not Path(trail_path).is_file() or not Path(trail_path).stat().st_size:
        return
    trail_copy = work / "snapshot-trail.db"
    _sqlite_copy(trail_path, trail_copy)
    target = sqlite3.connect(copy, isolation_level=None)
    try:
        target.execute("ATTACH DATABASE ? AS trail", (str(trail_copy),))
        target.execute("BEGIN")
        for table in trail_store.TABLES:  # with the rows a move cut short left in the store's file
            columns = ", ".join(column.name for column in table.columns)
            name = table.name
            target.execute(f"INSERT OR IGNORE INTO {name} ({columns}) SELECT {columns} FROM trail.{name}")
        target.execute("COMMIT")
        target.execute("DETACH DATABASE trail")
    except sqlite3.Error as exc:
        raise DumpError(f"the trail's file `{trail_path}` cannot be read: {type(exc).__name__}") from exc
    finally:
        target.close()
        trail_copy.unlink(missing_ok=True)


def _sqlite_copy(database: str, copy: Path) -> None:
    """Copy a live SQLite database with the online backup API, all pages in one step."""
    if not database or not Path(database).is_file():
        raise DumpError(f"no SQLite database at `{database}`")
    os.close(os.open(copy, os.O_WRONLY | os.O_CREAT, 0o600))
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        source.backup(target, pages=-1)
    finally:
        target.close()
        source.close()


def revision(conn: Connection) -> str | None:
    """The store's Alembic revision."""
    found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


def unknown_tables(conn: Connection) -> list[str]:
    """Tables of the database this Ostiary does not know (a dump would leave them out)."""
    known = set(table_names()) | DERIVED_TABLES | {"alembic_version"}
    return sorted(set(inspect(conn).get_table_names()) - known)


def rows(conn: Connection, name: str) -> Iterator[dict[str, Any]]:
    """Every row of a table in primary-key order, as JSON values."""
    table = _table(name)
    query = select(table).order_by(*table.primary_key.columns)
    for row in conn.execution_options(yield_per=1000).execute(query).mappings():
        yield _encode(table, dict(row))


def _encode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        value = row[column.name]
        if value is not None and isinstance(column.type, LargeBinary):
            value = base64.b64encode(value).decode()
        elif value is not None and isinstance(column.type, DateTime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite keeps UTC, untagged
            value = aware.astimezone(UTC).isoformat()
        out[column.name] = value
    return out


def decode(name: str, encoded: dict[str, Any]) -> dict[str, Any]:
    """A row that `rows` gave, ready to insert; every column of the table must be there, no other."""
    table = _table(name)
    names = {column.name for column in table.columns}
    if set(encoded) != names:
        raise DumpError(f"a row of {name} has the columns {sorted(encoded)}, not {sorted(names)}")
    row: dict[str, Any] = {}
    for column in table.columns:
        value = encoded[column.name]
        try:
            if value is not None and isinstance(column.type, LargeBinary):
                value = base64.b64decode(value, validate=True)
            elif value is not None and isinstance(column.type, DateTime):
                value = datetime.fromisoformat(value).astimezone(UTC)
        except (ValueError, TypeError) as exc:
            raise DumpError(f"a row of {name} has a bad {column.name}") from exc
        row[column.name] = value
    return row


def first_nonempty_table(conn: Connection) -> str | None:
    """A table holding a row other than the seeded AWS managed policies, or None for an empty store."""
    seeded = select(managed_policies.c.policy_id).where(managed_policies.c.account_id == AWS_ACCOUNT)
    for table in metadata.sorted_tables:
        if table.name in DERIVED_TABLES:
            continue
        query = select(func.count()).select_from(table)
        if table is managed_policies:
            query = query.where(managed_policies.c.account_id != AWS_ACCOUNT)
        elif table is policy_versions:
            query = query.where(policy_versions.c.policy_id.not_in(seeded))
        if conn.execute(query).scalar():
            return table.name
    return None


def drop_seeded(conn: Connection) -> None:
    """Delete the seeded AWS managed policies (a dump holds its own store's)."""
    seeded = select(managed_policies.c.policy_id).where(managed_policies.c.account_id == AWS_ACCOUNT)
    conn.execute(delete(policy_versions).where(policy_versions.c.policy_id.in_(seeded)))
    conn.execute(delete(managed_policies).where(managed_policies.c.account_id == AWS_ACCOUNT))


def insert(conn: Connection, name: str, decoded: list[dict[str, Any]]) -> None:
    """Insert decoded rows into a table."""
    conn.execute(_table(name).insert(), decoded)


def advance_sequences(conn: Connection) -> None:
    """PostgreSQL: move each serial column's sequence past the inserted ids (SQLite needs nothing)."""
    if conn.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement is True:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )
