"""The database: one engine (SQLite in WAL mode, or PostgreSQL), transactions, migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from ostiary.errors import AwsError, ConcurrentModificationException

_MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """The shared store. Reads use `read()`; every write runs in one `transaction()`."""

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = url
        is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}  # the busy timeout
        if not pool:
            kwargs["poolclass"] = NullPool
        elif not is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_engine(url, **kwargs)
        if is_sqlite:
            _tune_sqlite(self.engine)

    @contextmanager
    def transaction(self, on_conflict: AwsError | None = None) -> Iterator[Connection]:
        """One write transaction: commits on success, rolls back on any error.

        A unique constraint broken by a concurrent writer becomes `on_conflict` (or
        ConcurrentModification), so the loser of a race gets AWS's error and changes nothing.
        """
        try:
            with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            raise (
                on_conflict
                or ConcurrentModificationException("Rate exceeded or concurrent modification, try again.")
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read. On SQLite each statement reads the newest commit (no BEGIN: it costs more than the
        reads of a request); on PostgreSQL the reads share one transaction."""
        with self.engine.connect().execution_options(sqlite_begin=None) as conn:
            with conn.begin():
                yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        with self.engine.connect() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(_MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def _tune_sqlite(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            try:
                cur.execute(f"PRAGMA {pragma}")
            except Exception:  # noqa: BLE001 - WAL may be refused on some file systems; go on without it
                pass
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:
            conn.exec_driver_sql(f"BEGIN {mode}")
