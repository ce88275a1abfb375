"""Fixtures: the real `ostiary serve` on a free loopback port, over SQLite and over PostgreSQL.

One server per backend per test session (per xdist worker). Tests isolate themselves by unique
names (`unique`), or by a fresh account where they need one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

PG_ADMIN_URL = os.environ.get("OSTIARY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ROOT_KEY = "AKIAOSTIARYTESTROOT1"
ROOT_SECRET = "ostiary/test/root/secret/0123456789abcdef"
ACCOUNT = "123456789012"

if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    # The suite starts `python -m ostiary ...` (servers, their trail writers, admin commands) hundreds
    # of times; without bytecode each start compiles Ostiary's modules anew (0.1 to 0.3 s of CPU). The
    # children keep bytecode, outside the checkout as the variable wanted: in a cache folder in /tmp.
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), f"ostiary-test-pycache-{os.getuid()}")
    )


@dataclass
class Server:
    """A running Ostiary server."""

    endpoint: str
    backend: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    account_id: str = ACCOUNT
    access_key_id: str = ROOT_KEY
    secret_access_key: str = ROOT_SECRET

    def client(
        self,
        service: str,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        **config: object,
    ) -> object:
        """A boto3 client of this server, as root unless credentials are given."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            aws_session_token=session_token,
            config=Config(retries={"max_attempts": 1}, **config),  # type: ignore[arg-type]  # botocore options
        )

    def new_account(self) -> dict[str, str]:
        """A fresh account beside this server: its AccountId and root AccessKeyId and SecretAccessKey.

        Made in this process by the function `ostiary account create` calls, on the server's migrated
        store, without starting an interpreter for each (tests/integration/test_accounts and
        test_cli_store run the command itself)."""
        from ostiary.bootstrap import create_account
        from ostiary.store.db import Database
        from ostiary.store.keyring import Keyring

        db = Database(self.database_url, pool=False)
        try:
            return create_account(db, Keyring.load(self.data_dir))
        finally:
            db.dispose()

    def cli_env(self) -> dict[str, str]:
        """Store options for admin commands run beside this server."""
        env = dict(os.environ)
        env["OSTIARY_DATA_DIR"] = str(self.data_dir)
        env["OSTIARY_DATABASE_URL"] = self.database_url
        return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ostiary serve exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"ostiary serve did not start: {log.read_text()}")


def start_server(
    data_dir: Path, database_url: str, backend: str, *extra: str, env_extra: dict[str, str] | None = None
) -> Server:
    """Start `ostiary serve` as a subprocess and wait until it listens."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OSTIARY_ROOT_ACCESS_KEY_ID=ROOT_KEY, OSTIARY_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
    env.update(env_extra or {})
    log = data_dir / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ostiary",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--database-url",
            database_url,
            *extra,
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    wait_for_port(port, process, log)
    return Server(f"http://127.0.0.1:{port}", backend, data_dir, database_url, process)


def stop_server(server: Server) -> None:
    """Stop the server; fail the run, printing its log, when it logged a traceback."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    assert_no_traceback(server.data_dir / "server.log")


def assert_no_traceback(log: Path) -> None:
    """Fail when a server's log holds a traceback: a crash the client may not have seen."""
    text = log.read_text(errors="replace") if log.exists() else ""
    if "Traceback" in text:
        pytest.fail(f"{log} holds a traceback:\n{text[-20000:]}", pytrace=False)


def _pg_admin():  # type: ignore[no-untyped-def]  # psycopg connection
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


def skip_without_pg(exc: Exception) -> None:
    """Skip the test, saying why PostgreSQL is missing; fail it under OSTIARY_TEST_REQUIRE_PG=1 (CI)."""
    reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
    if os.environ.get("OSTIARY_TEST_REQUIRE_PG") == "1":
        pytest.fail(f"{reason} (OSTIARY_TEST_REQUIRE_PG=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards.

    Skips, saying why, when none is reachable; fails instead under OSTIARY_TEST_REQUIRE_PG=1 (CI), so
    that half the suite cannot be skipped unnoticed.
    """
    yield from _fresh_pg_database()


@pytest.fixture(scope="module")
def module_pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test module, for a server of its own (its own data folder and
    keyring: the run's database holds secrets sealed with the session server's)."""
    yield from _fresh_pg_database()


def _fresh_pg_database() -> Iterator[str]:
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip (or fail), and say why
        skip_without_pg(exc)
    name = f"ostiary_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store's URL, once a SQLite file and once a PostgreSQL database of its own (a migration's
    test takes it from one revision to another)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ostiary.db'}"
    else:
        yield from _fresh_pg_database()


def migrate(db: Any, revision: str, *, down: bool = False) -> None:
    """Take a store (`ostiary.store.db.Database`) up, or `down`, to an Alembic revision."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from ostiary.store.db import _MIGRATIONS

    with db.engine.connect() as conn:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
        conn.commit()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The running server, once over SQLite and once over PostgreSQL."""
    data_dir = tmp_path_factory.mktemp(f"ostiary-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'ostiary.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    srv = start_server(data_dir, url, request.param)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over SQLite only, for tests whose point is not the backend."""
    data_dir = tmp_path_factory.mktemp("ostiary-sqlite-only")
    srv = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite")
    yield srv
    stop_server(srv)


@pytest.fixture
def iam(server: Server):  # type: ignore[no-untyped-def]  # boto3 client
    return server.client("iam")


@pytest.fixture
def sts(server: Server):  # type: ignore[no-untyped-def]  # boto3 client
    return server.client("sts")


@pytest.fixture
def unique() -> str:
    """A suffix that makes names unique across tests sharing one server."""
    return uuid.uuid4().hex[:10]
