"""The day rows of what each principal attempted, on the real store (SQLite and PostgreSQL): an event
folded twice (a replay) changes nothing, the latest attempt and its region win, allowed once stays
allowed, and a period reads only its days."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ostiary.store import last_access
from ostiary.store.db import Database

NOON = datetime(2026, 12, 4, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def _access(
    principal: str, at: datetime, region: str = "us-east-1", allowed: bool = True
) -> last_access.Access:
    arn = f"arn:aws:iam::123456789012:user/{principal}"
    return last_access.Access(
        "123456789012", principal, arn, "s3:GetObject", "arn:aws:s3:::b/*", at, region, allowed
    )


def _used(
    db: Database, principal: str, since: datetime, until: datetime | None = None, **kw: bool
) -> list[last_access.Used]:
    with db.read() as conn:
        return last_access.used(conn, "123456789012", [principal], since, until, **kw)


def test_replayed_and_older_attempts_keep_the_latest(db: Database) -> None:
    principal = f"AIDA{uuid.uuid4().hex[:12].upper()}"
    batch = [
        _access(principal, NOON, "eu-west-1", allowed=False),
        _access(principal, NOON - timedelta(hours=1)),
    ]
    for _ in range(2):  # the second time is a replay of the same events
        with db.transaction() as conn:
            last_access.add(conn, batch)
    with db.transaction() as conn:
        last_access.add(conn, [_access(principal, NOON - timedelta(hours=2), "ap-south-1")])
    (found,) = _used(db, principal, NOON - timedelta(days=1))
    assert (found.last_at, found.region) == (NOON, "eu-west-1")
    (allowed,) = _used(db, principal, NOON - timedelta(days=1), allowed_only=True)
    assert allowed.last_at == NOON  # the day had an allowed attempt, so the day row counts


def test_a_refused_day_is_no_use_and_periods_read_their_days(db: Database) -> None:
    principal = f"AIDA{uuid.uuid4().hex[:12].upper()}"
    with db.transaction() as conn:
        last_access.add(conn, [_access(principal, NOON - timedelta(days=3), allowed=False)])
        last_access.add(conn, [_access(principal, NOON - timedelta(days=10))])
    assert _used(db, principal, NOON - timedelta(days=5), allowed_only=True) == []
    assert len(_used(db, principal, NOON - timedelta(days=5))) == 1
    old = _used(db, principal, NOON - timedelta(days=11), NOON - timedelta(days=9), allowed_only=True)
    assert [u.last_at for u in old] == [NOON - timedelta(days=10)]
    assert _used(db, f"other-{principal}", NOON - timedelta(days=30)) == []


def test_rows_older_than_the_tracking_period_are_removed(db: Database) -> None:
    principal = f"AIDA{uuid.uuid4().hex[:12].upper()}"
    with db.transaction() as conn:
        last_access.add(conn, [_access(principal, NOON - timedelta(days=401)), _access(principal, NOON)])
    with db.transaction() as conn:
        assert last_access.delete_before(conn, NOON - timedelta(days=400)) >= 1
    assert [u.last_at for u in _used(db, principal, NOON - timedelta(days=500))] == [NOON]
