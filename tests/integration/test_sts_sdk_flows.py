"""The SDKs' own credential flows, unchanged: a profile with role_arn + source_profile (the SDK calls
AssumeRole itself), credential_process, and `aws sts assume-role` through the AWS CLI."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import Server


def _trust(principal: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


@pytest.fixture
def user_key(server: Server, iam: Any, unique: str) -> dict[str, str]:
    """A user's long-term key, with the user's ARN."""
    name = f"sdk-{unique}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "AccessKeyId": key["AccessKeyId"],
        "SecretAccessKey": key["SecretAccessKey"],
        "Arn": f"arn:aws:iam::{server.account_id}:user/{name}",
    }


@pytest.fixture
def sdk_env(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated SDK environment pointed at the server; returns the config file to write profiles into."""
    config = tmp_path / "config"
    config.write_text("")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return config


def _write_profiles(config: Path, profiles: dict[str, dict[str, str]]) -> None:
    lines = []
    for name, values in profiles.items():
        lines.append(f"[profile {name}]")
        lines.extend(f"{k} = {v}" for k, v in values.items())
    config.write_text("\n".join(lines) + "\n")


def _aws(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_a_profile_with_role_arn_makes_boto3_assume_the_role(
    server: Server, iam: Any, sdk_env: Path, user_key: dict[str, str], unique: str
) -> None:
    role_arn = iam.create_role(
        RoleName=f"ProfileRole-{unique}", AssumeRolePolicyDocument=_trust({"AWS": user_key["Arn"]})
    )["Role"]["Arn"]
    _write_profiles(
        sdk_env,
        {
            "dev": {
                "aws_access_key_id": user_key["AccessKeyId"],
                "aws_secret_access_key": user_key["SecretAccessKey"],
            },
            "deploy": {"role_arn": role_arn, "source_profile": "dev", "role_session_name": "from-profile"},
        },
    )
    session = boto3.Session(profile_name="deploy")
    me = session.client("sts").get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/ProfileRole-{unique}/from-profile"
    assert session.get_credentials().get_frozen_credentials().access_key.startswith("ASIA")


def test_the_aws_cli_assumes_a_role_from_a_profile(
    server: Server, iam: Any, sdk_env: Path, user_key: dict[str, str], unique: str
) -> None:
    role_arn = iam.create_role(
        RoleName=f"CliProfile-{unique}", AssumeRolePolicyDocument=_trust({"AWS": user_key["Arn"]})
    )["Role"]["Arn"]
    _write_profiles(
        sdk_env,
        {
            "dev": {
                "aws_access_key_id": user_key["AccessKeyId"],
                "aws_secret_access_key": user_key["SecretAccessKey"],
            },
            "ops": {"role_arn": role_arn, "source_profile": "dev", "role_session_name": "cli-session"},
        },
    )
    me = _aws(dict(os.environ), "sts", "get-caller-identity", "--profile", "ops")
    assert me["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/CliProfile-{unique}/cli-session"


def test_credential_process_feeds_service_credentials_into_a_role_profile(
    server: Server, iam: Any, sdk_env: Path, unique: str
) -> None:
    """The seed's export example: a job runner playing dynamodb.amazonaws.com assumes the export role."""
    role_arn = iam.create_role(
        RoleName=f"DynamoDBExportRole-{unique}",
        AssumeRolePolicyDocument=_trust({"Service": "dynamodb.amazonaws.com"}),
    )["Role"]["Arn"]
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "ostiary",
            "service-credentials",
            "dynamodb.amazonaws.com",
            "--credential-process",
            "--data-dir",
            str(server.data_dir),
            "--database-url",
            server.database_url,
        ]
    )
    _write_profiles(
        sdk_env,
        {
            "dynamodb": {"credential_process": command},
            "export": {"role_arn": role_arn, "source_profile": "dynamodb", "role_session_name": "export-job"},
        },
    )
    me = boto3.Session(profile_name="export").client("sts").get_caller_identity()
    assert (
        me["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/DynamoDBExportRole-{unique}/export-job"
    )


def test_credential_process_with_static_keys(
    server: Server, sdk_env: Path, user_key: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "creds.py"
    script.write_text(
        "import json\nprint(json.dumps("
        + repr(
            {
                "Version": 1,
                "AccessKeyId": user_key["AccessKeyId"],
                "SecretAccessKey": user_key["SecretAccessKey"],
            }
        )
        + "))\n"
    )
    _write_profiles(sdk_env, {"proc": {"credential_process": shlex.join([sys.executable, str(script)])}})
    assert boto3.Session(profile_name="proc").client("sts").get_caller_identity()["Arn"] == user_key["Arn"]


def test_aws_sts_assume_role_through_the_cli(
    server: Server, iam: Any, user_key: dict[str, str], unique: str
) -> None:
    role_arn = iam.create_role(
        RoleName=f"CliRole-{unique}", AssumeRolePolicyDocument=_trust({"AWS": user_key["Arn"]})
    )["Role"]["Arn"]
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=user_key["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=user_key["SecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    out = _aws(
        env,
        "--endpoint-url",
        server.endpoint,
        "sts",
        "assume-role",
        "--role-arn",
        role_arn,
        "--role-session-name",
        "cli-run",
        "--duration-seconds",
        "900",
    )
    assert (
        out["AssumedRoleUser"]["Arn"]
        == f"arn:aws:sts::{server.account_id}:assumed-role/CliRole-{unique}/cli-run"
    )
    creds = out["Credentials"]
    env.update(
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
    )
    me = _aws(env, "--endpoint-url", server.endpoint, "sts", "get-caller-identity")
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
