"""The trail's rows on the real store (SQLite and PostgreSQL): inserted on the driver, they read back
through SQLAlchemy as rows SQLAlchemy inserted itself do, and a batch inserted again (a replay) adds
nothing, to the events or to what each principal did."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ostiary.store import last_access, trail_events
from ostiary.store.db import Database
from ostiary.trail import events, writer
from ostiary.trail.segments import frame as frame_bytes
from tests.conftest import migrate

ACCOUNT = "123456789012"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("module_pg_database")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def _event(at: datetime, read_only: bool, **columns: Any) -> trail_events.StoredEvent:
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "account_id": ACCOUNT,
        "event_time": at,
        "event_name": "GetUser",
        "event_source": "iam.amazonaws.com",
        "read_only": read_only,
        "username": "ann",
        "access_key_id": None,
        "record": '{"eventVersion":"1.08","x":"\\u00e9"}',
        "resources": (("AWS::IAM::User", "ann"), ("AWS::IAM::Role", "arn:aws:iam::123456789012:role/R")),
    }
    return trail_events.StoredEvent(**(values | columns))


def _read(db: Database, event_id: str) -> tuple[Any, ...]:
    """An event's row and resource rows as SQLAlchemy reads them, and as the driver holds them."""
    t, r = trail_events.trail_events, trail_events.trail_resources
    with db.read() as conn:
        row = conn.execute(select(t).where(t.c.event_id == event_id)).one()
        columns = (r.c.resource_type, r.c.resource_name, r.c.event_time)
        resources = conn.execute(select(*columns).where(r.c.event_id == event_id).order_by(*columns)).all()
        raw = conn.exec_driver_sql(
            f"SELECT event_time, read_only FROM trail_events WHERE event_id = '{event_id}'"
        )
        return tuple(row)[1:], [tuple(found) for found in resources], tuple(raw.one())


@pytest.mark.parametrize("read_only", [True, False])
@pytest.mark.parametrize("micro", [0, 250_001])
def test_rows_inserted_on_the_driver_read_back_as_sqlalchemys_own(
    db: Database, read_only: bool, micro: int
) -> None:
    at = datetime(2026, 12, 4, 16, 0, 1, micro, tzinfo=UTC)
    ours, theirs = _event(at, read_only), _event(at, read_only, access_key_id="AKIAEXAMPLE")
    theirs = theirs._replace(access_key_id=None)
    with db.transaction() as conn:
        trail_events.insert(conn, [ours])
        conn.execute(trail_events.trail_events.insert(), [theirs._asdict() | {"resources": None}])
        conn.execute(
            trail_events.trail_resources.insert(),
            [
                {
                    "account_id": ACCOUNT,
                    "resource_name": name,
                    "event_time": at,
                    "event_id": theirs.event_id,
                    "resource_type": kind,
                }
                for kind, name in theirs.resources
            ],
        )
    assert _read(db, ours.event_id) == _read(db, theirs.event_id)
    row, resources, _ = _read(db, ours.event_id)
    assert row[1].replace(tzinfo=UTC) == at and row[4] is read_only
    assert sorted(found[:2] for found in resources) == sorted(ours.resources)


def test_a_nul_in_a_recorded_value_is_stored_and_found_on_either_store(db: Database, tmp_path: Path) -> None:
    """PostgreSQL's text takes no NUL: a recorded value holding one must neither stop the writer (it
    retries a failed batch forever) nor be unfindable; it is kept as U+FFFD. (IAM's model validation
    refuses a NUL before a call is recorded; the store holds whatever a frame brings all the same.)"""
    identity = {"type": "IAMUser", "principalId": "AIDANUL", "accountId": ACCOUNT, "userName": "ann"}
    name = f"a\x00b-{uuid.uuid4().hex[:8]}"
    frame = events.call(
        identity,
        ACCOUNT,
        "iam",
        "GetUser",
        {"UserName": name},
        str(uuid.uuid4()),
        1_796_400_000.0,
        "127.0.0.1",
        "test",
        "us-east-1",
        error=("ValidationError", "1 validation error detected"),
    )
    segment = tmp_path / "nul.seg"
    segment.write_bytes(frame_bytes(frame))
    assert writer.move_segments(db, [segment]) == 1 and not segment.exists()
    with db.read() as conn:
        found = trail_events.page(
            conn, ACCOUNT, [trail_events.Filter("resource_name", name)], None, None, None, 50
        )
    assert len(found) == 1 and json.loads(found[0].record)["requestParameters"]["userName"] == name


def test_a_batch_inserted_again_adds_nothing(db: Database) -> None:
    identity = {
        "type": "IAMUser",
        "principalId": f"AIDA{uuid.uuid4().hex[:12].upper()}",
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/ann",
        "userName": "ann",
        "accessKeyId": "AKIAEXAMPLE",
    }
    frames = [
        events.call(
            identity,
            ACCOUNT,
            "iam",
            "GetUser",
            {"UserName": f"u{i % 3}"},
            str(uuid.uuid4()),
            1_796_400_000 + i / 7,
            "127.0.0.1",
            "test",
            "us-east-1",
        )
        for i in range(40)
    ]
    records = [record for frame in frames for record in events.records(frame)]

    def counted() -> tuple[int, int, int]:
        with db.read() as conn:
            tables = (trail_events.trail_events, trail_events.trail_resources, last_access.trail_access)
            return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables)  # type: ignore[return-value]

    before = counted()  # the module's other tests' rows (on PostgreSQL)
    assert writer.insert(db, [writer.stored(record) for record in records], records) == 40
    assert [b - a for a, b in zip(before, counted(), strict=True)] == [40, 40, 3]
    assert writer.insert(db, [writer.stored(record) for record in records[::-1]], records) == 0
    more = records[:5] + [events.records(frames[0][:8] + ("req-new",) + frames[0][9:])[0]]
    assert writer.insert(db, [writer.stored(record) for record in more], more) == 1
    assert [b - a for a, b in zip(before, counted(), strict=True)] == [41, 41, 3]


def test_the_writer_takes_the_segments_waiting_together() -> None:
    read, write = os.pipe()
    try:
        os.write(write, b"/t/1\n/t/2\n/t/3\n/t/4")  # the fourth line still coming
        batches = writer.handed_over(read, most=2, hold=0)
        assert next(batches) == [Path("/t/1"), Path("/t/2")]
        assert next(batches) == [Path("/t/3")]
        os.write(write, b"5\n/t/6\n")
        assert next(batches) == [Path("/t/45"), Path("/t/6")]
        os.write(write, b"/t/7")
        os.close(write)
        write = -1
        assert list(batches) == [[Path("/t/7")]]  # a last line without its end, then the end
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)


def _held(*_: object) -> None:
    raise TimeoutError("a batch was held")


def test_the_writer_holds_segments_until_enough_wait_someone_waits_or_its_input_ends() -> None:
    """Each batch below comes at once: none is held for its hour (the alarm would end the test)."""
    read, write = os.pipe()
    signal.signal(signal.SIGALRM, _held)
    signal.alarm(30)
    try:
        batches = writer.handed_over(read, most=3, hold=3600)
        os.write(write, b"/t/1\n/t/2\n/t/3\n/t/4\n")
        assert next(batches) == [Path("/t/1"), Path("/t/2"), Path("/t/3")]  # as many as a batch takes
        os.write(write, b"/t/5\n\n")  # then someone waits for what was handed over
        assert next(batches) == [Path("/t/4"), Path("/t/5")]
        os.write(write, b"/t/6\n")
        os.close(write)
        write = -1
        assert list(batches) == [[Path("/t/6")]]
    finally:
        signal.alarm(0)
        os.close(read)
        if write >= 0:
            os.close(write)


def test_migration_0018_keeps_each_events_resources(fresh_url: str) -> None:
    db = Database(fresh_url, pool=False)
    migrate(db, "0017")
    at = datetime(2026, 12, 4, 16, 0, 1, tzinfo=UTC)
    old = [("e1", "0", "AWS::IAM::User", "ann"), ("e1", "1", "AWS::IAM::Role", "R"), ("e2", "0", None, "b")]
    with db.transaction() as conn:
        conn.execute(
            text(
                "INSERT INTO trail_resources (event_id, position, account_id, event_time, resource_type,"
                " resource_name) VALUES (:e, :p, :a, :t, :k, :n)"
            ),
            [{"e": e, "p": p, "a": ACCOUNT, "t": at, "k": k, "n": n} for e, p, k, n in old],
        )
    migrate(db, "head")
    r = trail_events.trail_resources.c
    with db.read() as conn:
        rows = conn.execute(select(r.event_id, r.resource_type, r.resource_name, r.event_time)).all()
    assert sorted((e, k, n, t.replace(tzinfo=UTC)) for e, k, n, t in rows) == [
        ("e1", "AWS::IAM::Role", "R", at),
        ("e1", "AWS::IAM::User", "ann", at),
        ("e2", "", "b", at),
    ]
    migrate(db, "0017", down=True)
    with db.read() as conn:
        back = conn.execute(
            text("SELECT event_id, position, resource_type, resource_name FROM trail_resources")
        )
        assert sorted(back) == [
            ("e1", "0", "AWS::IAM::Role", "R"),
            ("e1", "1", "AWS::IAM::User", "ann"),
            ("e2", "0", "", "b"),
        ]
    db.dispose()
