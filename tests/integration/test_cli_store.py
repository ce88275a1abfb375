"""The commands other than `serve` use the store `ostiary serve` made, and refuse a location holding none
(naming it), instead of making a new keyring whose credentials the server would refuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Server

COMMANDS = [
    ["service-credentials", "dynamodb.amazonaws.com"],
    ["account", "create"],
    ["signin", "--user-name", "alice", "--password", "x"],
    ["imds", "--instance-profile", "web", "--port", "1"],
]


def _ostiary(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OSTIARY_")}
    return subprocess.run(
        [sys.executable, "-m", "ostiary", *args],
        cwd=cwd,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_command_run_where_no_store_is_refuses_naming_the_location(
    tmp_path: Path, command: list[str]
) -> None:
    done = _ostiary(tmp_path, *command)
    assert done.returncode == 1, done.stdout
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: `{tmp_path / 'data'}` holds no Ostiary store (no keyring there): run it where "
        "`ostiary serve` keeps its store, or give that --data-dir (OSTIARY_DATA_DIR)\n"
    )
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_a_keyring_without_its_database_is_refused(tmp_path: Path, sqlite_server: Server) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keyring").write_bytes((sqlite_server.data_dir / "keyring").read_bytes())
    done = _ostiary(tmp_path, "service-credentials", "dynamodb.amazonaws.com")
    assert done.returncode == 1
    assert f"no `{data.resolve() / 'ostiary.db'}`" in done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["keyring"]


def test_a_database_never_migrated_is_refused(tmp_path: Path, sqlite_server: Server) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "keyring").write_bytes((sqlite_server.data_dir / "keyring").read_bytes())
    (data / "ostiary.db").write_bytes(b"")
    done = _ostiary(tmp_path, "account", "create", "--data-dir", str(data))
    assert done.returncode == 1
    assert "holds no Ostiary store (`ostiary serve` never ran on it)" in done.stderr


def test_the_servers_own_store_is_used(tmp_path: Path, server: Server) -> None:
    env = {"OSTIARY_DATA_DIR": str(server.data_dir), "OSTIARY_DATABASE_URL": server.database_url}
    done = _ostiary(tmp_path, "service-credentials", "dynamodb.amazonaws.com", env=env)
    assert done.returncode == 0, done.stderr
    creds = json.loads(done.stdout)
    sts = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert sts.get_caller_identity()["Account"] == server.account_id  # the server accepts them


def test_root_credentials_where_no_store_is_refuses_naming_the_file(tmp_path: Path) -> None:
    done = _ostiary(tmp_path, "root-credentials")
    assert done.returncode == 1
    assert f"`{tmp_path / 'data' / 'root-credentials.json'}` does not exist" in done.stderr


def test_root_credentials_from_the_environment_are_quoted_for_the_shell(tmp_path: Path) -> None:
    env = {"OSTIARY_ROOT_ACCESS_KEY_ID": "AKIAEXAMPLE", "OSTIARY_ROOT_SECRET_ACCESS_KEY": "a b'$c"}
    done = _ostiary(tmp_path, "root-credentials", "--port", "4567", env=env)
    assert done.returncode == 0, done.stderr
    shown = subprocess.run(
        ["bash", "-c", done.stdout + 'printf "%s|" "$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == "a b'$c|http://127.0.0.1:4567|"
