"""The database: one engine (SQLite in WAL mode, or PostgreSQL), transactions, migrations."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from ostiary import blocking
from ostiary.errors import AwsError, ConcurrentModificationException

_MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """The shared store. Reads use `read()`; every write runs in one `transaction()`."""

    def __init__(
        self,
        url: str,
        *,
        pool: bool = True,
        sqlite_cache_mib: int | None = None,
        sqlite_synced_commits: bool = False,
    ) -> None:
        """`pool`: keep connections (else one per use); `sqlite_cache_mib`: each SQLite connection's
        page cache, when SQLite's 2 MiB is too small (the trail writer's inserts);
        `sqlite_synced_commits`: every commit synced to disk (`synchronous=FULL`), for a writer that
        deletes the only other copy of what it committed (the trail's segments). Otherwise NORMAL: a
        commit survives the process, and is synced at the next checkpoint."""
        self.url = url
        self._pool = pool
        self._companions: dict[str, Database] = {}
        is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}  # the busy timeout
        if not pool:
            kwargs["poolclass"] = NullPool
        elif is_sqlite:  # the connections the threads keep (below) and nested uses: as many as they need
            # (a bound would be reached by the threads that keep theirs, the gateway's 64 and the IAM
            # endpoint's, and then every other thread would wait for a connection none gives back)
            kwargs.update(pool_size=20, max_overflow=-1)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        # hide_parameters: a failed statement's message (logged) never holds its values (sealed secrets,
        # password hashes, names)
        self.engine = create_engine(url, hide_parameters=True, **kwargs)
        if is_sqlite:
            _private_sqlite_files(self.engine.url.database)
            _tune_sqlite(self.engine, sqlite_cache_mib, synced=sqlite_synced_commits)
        # built once: deriving options per call costs more than a prepared read. PostgreSQL's reads run
        # in autocommit: under READ COMMITTED each statement takes its own snapshot in a transaction
        # too, so its BEGIN and ROLLBACK were two round trips that bought nothing.
        self._reader = self.engine.execution_options(
            sqlite_begin=None, **({} if is_sqlite else {"isolation_level": "AUTOCOMMIT"})
        )
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # SQLite: each thread keeps its reader and writer connections between requests, as checking
        # one out of the pool and back costs more than a request's reads. PostgreSQL's connections
        # go back to the pool, where other requests need them.
        self._kept = _KeptConnections() if is_sqlite and pool else None
        self._all_kept: set[Connection] = set()
        self._kept_lock = threading.Lock()

    @contextmanager
    def transaction(
        self, on_conflict: AwsError | None = None, *, durable: bool = True
    ) -> Iterator[Connection]:
        """One write transaction: commits on success, rolls back on any error.

        A unique constraint broken by a concurrent writer becomes `on_conflict` (or
        ConcurrentModification), so the loser of a race gets AWS's error and changes nothing.
        Not `durable` (a last-used date, which AWS keeps only approximately): on PostgreSQL its commit
        does not wait for the WAL to reach the disk (`synchronous_commit` off for it alone), a wait
        that grows with every other writer's WAL; it is visible at once all the same, and a crash
        within a fraction of a second may lose it, never half of it. SQLite (WAL, synchronous=NORMAL)
        waits for no disk at any commit.
        """
        try:
            with self._connection(self._writer, "writer") as conn:
                if self._kept is None:
                    with conn.begin():
                        if not durable and conn.dialect.name == "postgresql":
                            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                        yield conn
                else:
                    with _sqlite_transaction(conn):
                        yield conn
        except IntegrityError as exc:
            raise (
                on_conflict
                or ConcurrentModificationException("Rate exceeded or concurrent modification, try again.")
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read: each statement reads the newest commit, with no BEGIN (on SQLite it costs more than
        the reads of a request; on PostgreSQL, two round trips)."""
        with self._connection(self._reader, "reader") as conn:
            yield conn

    @contextmanager
    def _connection(self, engine: Engine, role: str) -> Iterator[Connection]:
        """A connection for one read or transaction: the one this thread keeps for `role` when it
        has one free (a nested use gets another), else one from the pool. WouldBlock on the event loop."""
        blocking.check()
        kept = self._kept
        if kept is None:
            with engine.connect() as pooled:
                yield pooled
            return
        conn = kept.free.pop(role, None)
        if conn is None:
            conn = engine.connect()
            with self._kept_lock:
                self._all_kept.add(conn)
        try:
            yield conn
        finally:
            if conn.in_transaction():  # SQLAlchemy began one for a read: end it
                conn.rollback()
            if role in kept.free or conn.invalidated:
                with self._kept_lock:
                    self._all_kept.discard(conn)
                conn.close()
            else:
                kept.free[role] = conn

    def companion(self, name: str) -> Database:
        """The store kept apart from this one for data written apart (the trail): on a SQLite file,
        a second file beside it (`ostiary-trail.db` beside `ostiary.db`), whose writers never wait for
        this file's write lock nor make its writers wait; otherwise (PostgreSQL, whose writers do not
        lock each other out; an in-memory SQLite) this store itself. Made once; same schema (the
        migrations), of which the companion uses its own tables only."""
        found = self._companions.get(name)
        if found is None:
            found = self._companions[name] = self._companion(name)
        return found

    def _companion(self, name: str) -> Database:
        url = companion_url(self.url, name)
        return self if url is None else Database(url, pool=self._pool)

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        with self.engine.connect() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(_MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()

    def pool_status(self) -> dict[str, int]:
        """The connection pool now: its size, connections checked out, and overflow (for metrics)."""
        pool: Any = self.engine.pool
        if not hasattr(pool, "checkedout"):  # NullPool: a connection per use, nothing kept
            return {"size": 0, "checked_out": 0, "overflow": 0}
        return {
            "size": int(pool.size()),
            "checked_out": int(pool.checkedout()),
            "overflow": max(0, int(pool.overflow())),
        }

    def dispose(self) -> None:
        for companion in self._companions.values():
            if companion is not self:
                companion.dispose()
        with self._kept_lock:
            kept, self._all_kept = self._all_kept, set()
        for conn in kept:
            conn.close()
        self.engine.dispose()


def companion_url(url: str, name: str) -> str | None:
    """The URL of the companion `name` of the store at `url` (`Database.companion`): a SQLite file's
    beside it; None where the store is its own companion."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    file = Path(path)
    beside = parsed.set(database=str(file.with_name(f"{file.stem}-{name}{file.suffix}")))
    return beside.render_as_string(hide_password=False)


@contextmanager
def _sqlite_transaction(conn: Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT on the driver: SQLAlchemy's begin and commit cost three times the
    SQLite work of an empty transaction. A statement run through SQLAlchemy inside it makes SQLAlchemy
    begin its own record of the transaction (the BEGIN is not sent twice: see `_on_begin`); then
    SQLAlchemy commits or rolls back."""
    driver: Any = conn.connection.driver_connection
    driver.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction():
            conn.rollback()
        else:
            driver.rollback()
        raise
    if conn.in_transaction():
        conn.commit()
    else:
        driver.commit()


class _KeptConnections(threading.local):
    """The connections a thread keeps between uses, by role ("reader", "writer")."""

    def __init__(self) -> None:
        self.free: dict[str, Connection] = {}


def _private_sqlite_files(database: str | None) -> None:
    """Make the SQLite file, and the journal files SQLite makes beside it, readable by the owner only.

    SQLite gives a -wal, -shm or -journal file the mode of its database file, so a database created
    0600 here before SQLite opens it keeps every later file 0600; older files are narrowed too.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        owner_only(path.with_name(path.name + suffix))


def owner_only(path: Path) -> None:
    """Take group and others' permissions off `path`, a file or folder of ours (never through a link)."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(status.st_mode) or status.st_uid != os.geteuid():
        return
    if status.st_mode & 0o077:
        os.chmod(path, stat.S_IMODE(status.st_mode) & 0o700)


def _tune_sqlite(engine: Any, cache_mib: int | None, *, synced: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except Exception:  # noqa: BLE001 - WAL may be refused on some file systems; go on without it
            pass
        cur.execute("PRAGMA synchronous=FULL" if synced else "PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")  # never optional: the schema's cascades depend on it
        if cur.execute("PRAGMA foreign_keys").fetchone() != (1,):
            raise RuntimeError("SQLite refused foreign keys (PRAGMA foreign_keys=ON)")
        if cache_mib is not None:
            cur.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")  # negative: in KiB
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        driver: Any = conn.connection.driver_connection
        if mode is not None and not driver.in_transaction:  # in one: `_sqlite_transaction` began it
            driver.execute(f"BEGIN {mode}")  # on the driver: exec_driver_sql would cost as much again
