"""The throttle on the real store (SQLite and PostgreSQL): counts, pauses, resets and forgets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ostiary.errors import Throttling
from ostiary.services import throttle
from ostiary.settings import ThrottleLimits
from ostiary.store import attempts
from ostiary.store.db import Database
from ostiary.store.tables import failed_attempts

LIMITS = ThrottleLimits(failures=3, window_seconds=60, delay_seconds=10, max_delay_seconds=40)
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def _attempt(db: Database, subjects: list[str], now: datetime) -> str:
    try:
        with db.transaction() as conn:
            throttle.attempt(conn, subjects, now, LIMITS)
    except Throttling as exc:
        return f"{exc.code}: {exc.message} ({exc.status})"
    return "counted"


def test_attempts_pause_every_subject_they_count_on_and_a_success_clears_them(db: Database) -> None:
    user, device = f"mfa-user:{uuid.uuid4().hex}", f"mfa-device:{uuid.uuid4().hex}"
    answers = [_attempt(db, [user, device], NOW + timedelta(seconds=i)) for i in range(5)]
    assert answers == ["counted"] * 3 + ["Throttling: Rate exceeded (400)"] * 2
    assert _attempt(db, [device], NOW + timedelta(seconds=9)) == "Throttling: Rate exceeded (400)"
    assert _attempt(db, [user, device], NOW + timedelta(seconds=12)) == "counted"  # the pause ended
    with db.transaction() as conn:
        throttle.succeeded(conn, [user, device])
        assert attempts.blocked_until(conn, user) is None
    answers = [_attempt(db, [user], NOW + timedelta(seconds=13 + i)) for i in range(3)]
    assert answers == ["counted"] * 3  # a full count again after the success


def test_quiet_subjects_are_forgotten_and_paused_ones_kept(db: Database) -> None:
    quiet, paused = f"console:{uuid.uuid4().hex}", f"console:{uuid.uuid4().hex}"
    _attempt(db, [quiet], NOW)
    for i in range(3):
        _attempt(db, [paused], NOW + timedelta(seconds=95 + i))
    later = NOW + timedelta(seconds=LIMITS.window_seconds + LIMITS.max_delay_seconds + 1)
    _attempt(db, [f"console:{uuid.uuid4().hex}"], later)
    with db.read() as conn:
        stored = {row.subject for row in conn.execute(failed_attempts.select())}
    assert quiet not in stored and paused in stored


def test_concurrent_attempts_cannot_outrun_the_count(db: Database) -> None:
    """Twenty attempts at once, each in its own transaction: as many are counted as one at a time."""
    subject = f"mfa-device:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: _attempt(db, [subject], NOW), range(20)))
    assert sorted(answers) == sorted(["counted"] * LIMITS.failures + ["Throttling: Rate exceeded (400)"] * 17)
