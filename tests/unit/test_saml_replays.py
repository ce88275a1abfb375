"""The SAML replay claims: an assertion is accepted once while it is valid, on any node (in the store),
and the claims past their time are swept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ostiary.store import saml_assertions
from ostiary.store.db import Database

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROVIDER = "arn:aws:iam::123456789012:saml-provider/idp"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    found = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    found.migrate()
    yield found
    found.dispose()


def _claim(db: Database, assertion_id: str, until: datetime, now: datetime, provider: str = PROVIDER) -> bool:
    with db.transaction() as conn:
        return saml_assertions.claim(conn, provider, assertion_id, until, now)


def test_an_assertion_is_claimed_once_until_its_time_is_over(db: Database) -> None:
    assert _claim(db, "_a1", NOW + timedelta(minutes=5), NOW)
    assert not _claim(db, "_a1", NOW + timedelta(minutes=5), NOW + timedelta(minutes=4))
    assert _claim(db, "_a1", NOW + timedelta(minutes=5), NOW + timedelta(minutes=1), "arn:other")  # its own
    assert _claim(db, "_a1", NOW + timedelta(minutes=15), NOW + timedelta(minutes=5))  # the first expired
    assert not _claim(db, "_a1", NOW + timedelta(minutes=15), NOW + timedelta(minutes=6))


def test_a_second_database_handle_sees_the_claim(db: Database) -> None:
    """Another process (another node) on the same store: the claim is refused there too."""
    assert _claim(db, "_b1", NOW + timedelta(minutes=5), NOW)
    other = Database(db.url)
    try:
        with other.transaction() as conn:
            assert not saml_assertions.claim(conn, PROVIDER, "_b1", NOW + timedelta(minutes=5), NOW)
    finally:
        other.dispose()


def test_claims_past_their_time_are_swept(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saml_assertions, "_swept", [0.0])
    for n in range(20):
        _claim(db, f"_old{n}", NOW + timedelta(seconds=1), NOW)  # the first claim swept nothing yet
    monkeypatch.setattr(saml_assertions, "_swept", [0.0])  # a minute later
    assert _claim(db, "_new", NOW + timedelta(hours=1), NOW + timedelta(seconds=2))
    with db.read() as conn:
        left = conn.execute(select(func.count()).select_from(saml_assertions.saml_assertions_used)).scalar()
    assert left == 1


def test_a_long_assertion_id_is_kept_by_its_digest(db: Database) -> None:
    assert _claim(db, "_" + "x" * 100_000, NOW + timedelta(minutes=5), NOW)
    assert not _claim(db, "_" + "x" * 100_000, NOW + timedelta(minutes=5), NOW)
