"""Transactions and reads on the real store: what a last-used write gives up, and what reads run in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ostiary.store.db import Database


@pytest.fixture(params=["sqlite", "sqlite-unpooled", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")
    database = Database(url, pool=request.param != "sqlite-unpooled")
    with database.transaction() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS used (id INTEGER PRIMARY KEY, at TEXT)"))
        conn.execute(text("DELETE FROM used"))
    yield database
    database.dispose()


@pytest.fixture
def pg_db(pg_database: str) -> Iterator[Database]:
    database = Database(pg_database)
    yield database
    database.dispose()


def _synchronous_commit(db: Database, durable: bool) -> str:
    with db.transaction(durable=durable) as conn:
        return str(conn.execute(text("SHOW synchronous_commit")).scalar())


def test_only_a_write_that_is_not_durable_skips_waiting_for_the_disk(pg_db: Database) -> None:
    assert _synchronous_commit(pg_db, durable=False) == "off"
    assert _synchronous_commit(pg_db, durable=True) == "on"  # SET LOCAL: it ended with its transaction


def test_a_write_that_is_not_durable_is_read_at_once(db: Database) -> None:
    with db.transaction(durable=False) as conn:
        conn.execute(text("INSERT INTO used (id, at) VALUES (1, 'now')"))
    with db.read() as conn:
        assert conn.execute(text("SELECT at FROM used WHERE id = 1")).scalar() == "now"


def test_a_failed_write_that_is_not_durable_changes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction(durable=False) as conn:
        conn.execute(text("INSERT INTO used (id, at) VALUES (2, 'then')"))
        raise RuntimeError("the request failed")
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM used")).scalar() == 0


def test_postgresql_reads_open_no_transaction(pg_db: Database) -> None:
    with pg_db.read() as conn:
        conn.execute(text("SELECT 1"))
        driver = conn.connection.driver_connection
        assert driver is not None and driver.info.transaction_status.name == "IDLE"  # no BEGIN was sent


def _sqlite_synchronous(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("PRAGMA synchronous")).scalar_one())


def test_the_trail_writer_syncs_each_commit_before_it_deletes_the_segments(tmp_path: Path) -> None:
    from ostiary.trail import writer

    url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    server, trail_writer = Database(url), writer.database(url)
    try:
        assert _sqlite_synchronous(server) == 1  # NORMAL: a commit survives the process
        assert _sqlite_synchronous(trail_writer) == 2  # FULL: and a power cut, before a segment goes
    finally:
        server.dispose()
        trail_writer.dispose()
