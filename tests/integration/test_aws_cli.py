"""The AWS CLI (awscli from PyPI) against the server with --endpoint-url, as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import Server


def _aws(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=server.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.secret_access_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_creates_lists_and_reports_errors(sqlite_server: Server, unique: str) -> None:
    name = f"cli-{unique}"
    created = _aws(sqlite_server, "iam", "create-user", "--user-name", name, "--path", "/cli/")
    assert created.returncode == 0, created.stderr
    user = json.loads(created.stdout)["User"]
    assert user["Arn"] == f"arn:aws:iam::{sqlite_server.account_id}:user/cli/{name}"
    listed = json.loads(_aws(sqlite_server, "iam", "list-users", "--path-prefix", "/cli/").stdout)
    assert name in [u["UserName"] for u in listed["Users"]]
    again = _aws(sqlite_server, "iam", "create-user", "--user-name", name)
    assert again.returncode != 0
    assert "EntityAlreadyExists" in again.stderr and f"User with name {name} already exists." in again.stderr
