"""`/_ostiary/health` and `/_ostiary/ready` on the real server: JSON, unauthenticated, answered before
the gateway; ready says 503 (and why, without details) when the store is gone or not migrated."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ostiary.store.revision import head_revision
from tests.conftest import PG_ADMIN_URL, Server, _pg_admin, skip_without_pg, start_server, stop_server

DEAD_BACKEND = "http://127.0.0.1:9"  # discard port: a request forwarded there would fail


def probe(server: Server, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an unsigned request."""
    request = urllib.request.Request(server.endpoint + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def sqlite_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A SQLite server whose gateway forwards S3 (so an unsigned GET would otherwise be S3's)."""
    data_dir = tmp_path_factory.mktemp("health-sqlite")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", f"--backend=s3={DEAD_BACKEND}"
    )
    yield server
    stop_server(server)


def test_health_is_ok_and_ready_names_the_revision(sqlite_served: Server) -> None:
    status, headers, body = probe(sqlite_served, "/_ostiary/health")
    assert (status, headers["content-type"], json.loads(body)) == (200, "application/json", {"status": "ok"})
    status, headers, body = probe(sqlite_served, "/_ostiary/ready")
    assert (status, json.loads(body)) == (200, {"status": "ready", "revision": head_revision()})
    assert headers["cache-control"] == "no-store"


def test_head_answers_without_a_body(sqlite_served: Server) -> None:
    status, headers, body = probe(sqlite_served, "/_ostiary/ready", "HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_only_the_two_paths_and_only_get_are_probes(sqlite_served: Server) -> None:
    for path, method in (
        ("/_ostiary/ready", "POST"),
        ("/_ostiary/health", "DELETE"),
        ("/_ostiary/healthz", "GET"),
    ):
        status, headers, _body = probe(sqlite_served, path, method)
        assert status != 200 and headers["content-type"] != "application/json", (path, method)


def test_ready_is_503_while_the_database_file_is_gone_and_health_stays_ok(sqlite_served: Server) -> None:
    database = sqlite_served.data_dir / "ostiary.db"
    aside = database.with_name("ostiary.db.aside")
    database.rename(aside)
    try:
        status, _headers, body = probe(sqlite_served, "/_ostiary/ready")
        assert (status, json.loads(body)) == (
            503,
            {"status": "unavailable", "reason": "the store does not answer"},
        )
        assert probe(sqlite_served, "/_ostiary/health")[0] == 200
    finally:
        aside.rename(database)
    assert probe(sqlite_served, "/_ostiary/ready")[0] == 200


def test_ready_is_503_while_the_schema_is_not_this_versions(sqlite_served: Server) -> None:
    database = sqlite_served.data_dir / "ostiary.db"
    head = head_revision()
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    try:
        status, _headers, body = probe(sqlite_served, "/_ostiary/ready")
        reason = f"the store's schema is at revision 0001, not {head}"
        assert (status, json.loads(body)) == (503, {"status": "unavailable", "reason": reason})
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (head,))
    assert probe(sqlite_served, "/_ostiary/ready")[0] == 200


def test_a_probe_names_no_secret_and_needs_no_signature(sqlite_served: Server) -> None:
    for path in ("/_ostiary/health", "/_ostiary/ready"):
        _status, _headers, body = probe(sqlite_served, path)
        assert set(json.loads(body)) <= {"status", "revision", "reason"}
        assert sqlite_served.secret_access_key.encode() not in body and b"sqlite" not in body


def test_postgresql_ready_is_503_once_its_database_is_dropped(tmp_path: Path) -> None:
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip (or fail), and say why
        skip_without_pg(exc)
    name = f"ostiary_health_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    server = start_server(tmp_path / "data", f"{base}/{name}", "postgresql")
    try:
        status, _headers, body = probe(server, "/_ostiary/ready")
        assert (status, json.loads(body)) == (200, {"status": "ready", "revision": head_revision()})
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        status, _headers, body = probe(server, "/_ostiary/ready")
        assert (status, json.loads(body)) == (
            503,
            {"status": "unavailable", "reason": "the store does not answer"},
        )
        assert name.encode() not in body
        assert probe(server, "/_ostiary/health")[0] == 200
    finally:
        stop_server(server)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    assert "not ready: the store does not answer" in (tmp_path / "data" / "server.log").read_text()
