"""Prepared statements against SQLAlchemy's own execution, on a real SQLite file and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, bindparam, select

from ostiary.errors import EntityAlreadyExistsException
from ostiary.store import accounts, users
from ostiary.store.db import Database
from ostiary.store.prepared import Prepared
from ostiary.store.tables import tags
from ostiary.store.tables import users as users_table

_ACCOUNT = f"{uuid.uuid4().int % 10**12:012d}"  # its own account: PostgreSQL's database is the run's


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ostiary.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    database = Database(url)
    database.migrate()
    with database.transaction() as conn:
        if not accounts.exists(conn, _ACCOUNT):
            accounts.create(conn, _ACCOUNT, datetime.now(UTC))
    yield database
    database.dispose()


def _insert(conn: Connection, name: str, when: datetime | None = None) -> str:
    user_id = f"AIDA{name.upper():0<17}"[:21]
    users.insert(
        conn,
        user_id=user_id,
        account_id=_ACCOUNT,
        name=name,
        path="/p/",
        boundary=None,
        now=when or datetime.now(UTC),
    )
    return user_id


def _add_user(db: Database, name: str, when: datetime) -> str:
    with db.transaction() as conn:
        return _insert(conn, name, when)


def test_rows_equal_what_sqlalchemy_returns_types_included(db: Database, unique_name: str) -> None:
    when = datetime(2026, 11, 30, 4, 5, 6, 789000, tzinfo=UTC)
    _add_user(db, unique_name, when)
    statement = select(users_table).where(users_table.c.name_key == bindparam("key"))
    with db.read() as conn:
        expected = conn.execute(statement, {"key": unique_name.lower()}).one()
        got = Prepared(statement).first(conn, {"key": unique_name.lower()})
    assert tuple(got) == tuple(expected)
    assert got._fields == tuple(expected._fields)
    assert isinstance(got.created_at, datetime)


def test_all_keeps_order_and_literal_values(db: Database, unique_name: str) -> None:
    user_id = _add_user(db, unique_name, datetime.now(UTC))
    with db.transaction() as conn:
        for position, key in enumerate(["b", "a", "c"]):
            conn.execute(
                tags.insert().values(
                    entity_type="user",
                    entity_id=user_id,
                    key_lower=key,
                    key=key,
                    value=f"v{key}",
                    position=position,
                )
            )
    statement = (
        select(tags.c.key, tags.c.value)
        .where(tags.c.entity_type == "user", tags.c.entity_id == bindparam("id"))
        .order_by(tags.c.position)
    )
    with db.read() as conn:
        rows = Prepared(statement).all(conn, {"id": user_id})
    assert [(r.key, r.value) for r in rows] == [("b", "vb"), ("a", "va"), ("c", "vc")]


def test_no_row_is_none(db: Database) -> None:
    with db.read() as conn:
        assert users.find(conn, _ACCOUNT, "nobody-by-this-name") is None


def test_a_broken_unique_constraint_is_the_transactions_conflict_and_rolls_back(
    db: Database, unique_name: str
) -> None:
    """The driver's error reaches `transaction` as SQLAlchemy's IntegrityError, which it turns into
    the conflict it was given."""
    _add_user(db, unique_name, datetime.now(UTC))
    taken = EntityAlreadyExistsException("taken")
    with pytest.raises(EntityAlreadyExistsException), db.transaction(on_conflict=taken) as conn:
        before = accounts.epoch(conn, _ACCOUNT)
        accounts.bump_epoch(conn, _ACCOUNT)  # a write before the failure: must not survive it
        users.insert(
            conn,
            user_id="AIDAOTHEROTHEROTHERO",
            account_id=_ACCOUNT,
            name=unique_name.upper(),  # the same name in another case
            path="/",
            boundary=None,
            now=datetime.now(UTC),
        )
    with db.read() as conn:
        assert accounts.epoch(conn, _ACCOUNT) == before
        assert users.find(conn, _ACCOUNT, unique_name) is not None


def test_a_missing_parameter_is_an_error_not_a_null(db: Database) -> None:
    statement = select(users_table).where(users_table.c.name_key == bindparam("key"))
    with db.read() as conn, pytest.raises(KeyError):
        Prepared(statement).first(conn, {})


def test_a_statement_expanding_parameters_at_run_time_is_refused(db: Database) -> None:
    statement = select(users_table).where(users_table.c.name.in_(bindparam("names", expanding=True)))
    with db.read() as conn, pytest.raises(ValueError, match="expand"):
        Prepared(statement).all(conn, {"names": ["a"]})


def test_reads_nested_in_a_transaction_or_a_read_leave_it_alone(db: Database, unique_name: str) -> None:
    with db.transaction() as conn:
        _insert(conn, unique_name)
        with db.read() as outer:
            with db.read() as inner:  # SQLAlchemy begins (and at the end rolls back) a transaction here
                inner.execute(select(users_table.c.user_id).limit(1)).all()
            outer.execute(select(users_table.c.user_id).limit(1)).all()
            assert users.find(outer, _ACCOUNT, unique_name) is None  # not committed yet
        assert users.find(conn, _ACCOUNT, unique_name) is not None
    with db.read() as conn:
        assert users.find(conn, _ACCOUNT, unique_name) is not None


def test_a_failed_transaction_leaves_the_next_one_working(db: Database, unique_name: str) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        accounts.bump_epoch(conn, _ACCOUNT)
        raise RuntimeError("the handler failed")
    _add_user(db, unique_name, datetime.now(UTC))
    with db.read() as conn:
        assert users.find(conn, _ACCOUNT, unique_name) is not None


@pytest.fixture
def unique_name() -> str:
    return f"u{uuid.uuid4().hex[:12]}"


def test_a_transaction_of_prepared_statements_only_rolls_back_on_failure(
    db: Database, unique_name: str
) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        _insert(conn, unique_name)
        assert users.find(conn, _ACCOUNT, unique_name) is not None
        raise RuntimeError("the handler failed after its insert")
    with db.read() as conn:
        assert users.find(conn, _ACCOUNT, unique_name) is None
    _add_user(db, unique_name, datetime.now(UTC))  # the connection is usable again
