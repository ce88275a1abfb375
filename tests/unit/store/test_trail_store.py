"""The trail's own SQLite file (`store.trail_store`): beside the server's, private, never holding the
server's write lock; a store that kept its trail in its own file (an older version, a restore) has it
moved over once, nothing lost or doubled, also when a move was cut short; PostgreSQL keeps one store."""

from __future__ import annotations

import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ostiary.store import last_access, trail_events, trail_store
from ostiary.store.db import Database
from ostiary.store.last_access import Access

ACCOUNT = "123456789012"
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    database.migrate()
    yield database
    database.dispose()


def _event(n: int) -> trail_events.StoredEvent:
    return trail_events.StoredEvent(
        event_id=str(uuid.uuid4()),
        account_id=ACCOUNT,
        event_time=T0 + timedelta(seconds=n),
        event_name="CreateUser",
        event_source="iam.amazonaws.com",
        read_only=False,
        username="ann",
        access_key_id=None,
        record=f'{{"eventVersion":"1.08","n":{n}}}',
        resources=(("AWS::IAM::User", f"user-{n}"),),
    )


def _access(n: int) -> Access:
    arn = f"arn:aws:iam::{ACCOUNT}:user/ann"
    return Access(ACCOUNT, "AIDAEXAMPLE", arn, "iam:CreateUser", f"{arn}-{n}", T0, "us-east-1", True)


def _counts(db: Database) -> tuple[int, ...]:
    with db.read() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in trail_store.TABLES
        )


def _old_store(db: Database, events: int) -> None:
    """The trail's rows in the server's own file, as an older version (or a restore) left them."""
    with db.transaction() as conn:
        trail_events.insert(conn, [_event(n) for n in range(events)])
        last_access.add(conn, [_access(n) for n in range(events)])


def test_the_trail_has_a_private_file_beside_the_servers(db: Database, tmp_path: Path) -> None:
    trail = trail_store.of(db)
    assert trail is not db and trail is trail_store.of(db)
    assert trail.engine.url.database == str(tmp_path / "ostiary-trail.db")
    trail_store.prepare(db)
    assert stat.S_IMODE((tmp_path / "ostiary-trail.db").stat().st_mode) == 0o600
    with trail.transaction() as conn:
        trail_events.insert(conn, [_event(1)])
    assert _counts(trail) == (1, 1, 0) and _counts(db) == (0, 0, 0)


def test_an_in_memory_or_postgresql_store_is_its_own_trail_store() -> None:
    memory = Database("sqlite://", pool=False)
    try:
        assert trail_store.of(memory) is memory and trail_store.prepare(memory) == 0
    finally:
        memory.dispose()
    pg = Database("postgresql+psycopg://postgres@127.0.0.1:5432/none", pool=False)  # never connected
    try:
        assert trail_store.of(pg) is pg
    finally:
        pg.dispose()


def test_the_trails_writer_never_holds_the_servers_write_lock(db: Database) -> None:
    """A trail transaction held open (the writer's batch) and an IAM write at the same time: the IAM
    write does not wait for it (in one file it would wait for the lock, 30 s, here)."""
    trail_store.prepare(db)
    done = threading.Event()

    def iam_write() -> None:
        with db.transaction() as conn:
            conn.exec_driver_sql(
                "INSERT INTO accounts (account_id, policy_epoch, created_at) "
                "VALUES ('111122223333', 0, '2026-12-01')"
            )
        done.set()

    with trail_store.of(db).transaction() as conn:
        trail_events.insert(conn, [_event(1)])
        writer = threading.Thread(target=iam_write)
        writer.start()
        assert done.wait(5), "the IAM write waited for the trail's transaction"
    writer.join()


def test_an_older_stores_trail_is_moved_into_its_file_once(db: Database) -> None:
    _old_store(db, 120)
    assert _counts(db) == (120, 120, 120)
    assert trail_store.prepare(db) == 360
    trail = trail_store.of(db)
    assert _counts(db) == (0, 0, 0) and _counts(trail) == (120, 120, 120)
    with trail.read() as conn:
        found = trail_events.page(
            conn, ACCOUNT, [trail_events.Filter("resource_name", "user-7")], None, None, None, 50
        )
    assert [row.record for row in found] == ['{"eventVersion":"1.08","n":7}']
    assert trail_store.prepare(db) == 0  # once


def test_a_move_cut_short_is_taken_up_without_doubling(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _old_store(db, 50)
    monkeypatch.setattr(trail_store, "_MOVE_ROWS", 20)
    real_copy = trail_store._copy_batch
    calls = {"n": 0}

    def failing_copy(*args: Any) -> None:  # the process dies after two batches
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        real_copy(*args)

    monkeypatch.setattr(trail_store, "_copy_batch", failing_copy)
    with pytest.raises(RuntimeError):
        trail_store.prepare(db)
    trail = trail_store.of(db)
    assert _counts(db)[0] == 50 and _counts(trail)[0] == 40  # copied, not deleted yet
    monkeypatch.setattr(trail_store, "_copy_batch", real_copy)
    trail_store.prepare(db)  # the next start
    assert _counts(db) == (0, 0, 0) and _counts(trail) == (50, 50, 50)
