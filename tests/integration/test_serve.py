"""`ostiary serve` as a new user starts it: root credentials, permissive mode, graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import assert_no_traceback, free_port, wait_for_port


def _serve(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = data_dir / "serve.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("OSTIARY_")}
    clean_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "ostiary", "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=clean_env,
    )
    wait_for_port(port, proc, log)
    return proc, f"http://127.0.0.1:{port}", log


def _stop(proc: subprocess.Popen[bytes], log: Path, timeout: float = 15) -> None:
    """Stop the server gracefully: exit code 0, and no traceback in its log."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=timeout) == 0
    assert_no_traceback(log)


def _iam(endpoint: str, key: str, secret: str):  # type: ignore[no-untyped-def]  # boto3 client
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def test_first_start_writes_private_root_credentials_that_work(tmp_path: Path) -> None:
    proc, endpoint, log = _serve(tmp_path / "data")
    try:
        path = tmp_path / "data" / "root-credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        creds = json.loads(path.read_text())
        assert creds["AccountId"] == "123456789012" and creds["AccessKeyId"].startswith("AKIA")
        assert str(path) in log.read_text()
        users = _iam(endpoint, creds["AccessKeyId"], creds["SecretAccessKey"]).list_users()
        assert users["Users"] == []
        with pytest.raises(ClientError) as err:
            _iam(endpoint, "AKIAUNKNOWNKEY000000", "x" * 40).list_users()
        assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    finally:
        _stop(proc, log)


def test_database_holds_no_clear_secret(tmp_path: Path) -> None:
    proc, endpoint, log = _serve(tmp_path / "data")
    _stop(proc, log)
    secret = json.loads((tmp_path / "data" / "root-credentials.json").read_text())["SecretAccessKey"]
    assert secret.encode() not in (tmp_path / "data" / "ostiary.db").read_bytes()


def _client(service: str, endpoint: str, key: str, secret: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


_PERMISSIVE_ENV = {
    "OSTIARY_ROOT_ACCESS_KEY_ID": "AKIAPERMISSIVEROOT01",
    "OSTIARY_ROOT_SECRET_ACCESS_KEY": "s" * 40,
    "OSTIARY_ACCOUNT_ID": "210987654321",
}


def test_permissive_mode_maps_unknown_keys_to_an_administrator_user(tmp_path: Path) -> None:
    proc, endpoint, log = _serve(tmp_path / "data", "--auth", "permissive", env=_PERMISSIVE_ENV)
    try:
        identity = _client("sts", endpoint, "test", "test").get_caller_identity()
        assert identity["Arn"] == "arn:aws:iam::210987654321:user/ostiary-permissive"
        assert identity["Account"] == "210987654321" and identity["UserId"].startswith("AIDA")
        anyone = _iam(endpoint, "AKIAWHATEVERTESTING1", "anything")
        anyone.create_user(UserName="made-by-anyone")
        arn = anyone.get_user(UserName="made-by-anyone")["User"]["Arn"]
        assert arn == "arn:aws:iam::210987654321:user/made-by-anyone"
        attached = anyone.list_attached_user_policies(UserName="ostiary-permissive")["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
        root = _client("sts", endpoint, "AKIAPERMISSIVEROOT01", "s" * 40).get_caller_identity()
        assert root["Arn"] == "arn:aws:iam::210987654321:root"  # root's own key stays root
        with pytest.raises(ClientError) as err:  # a key that exists is still verified
            _iam(endpoint, "AKIAPERMISSIVEROOT01", "wrong" * 8).list_users()
        assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert "user/ostiary-permissive" in log.read_text()
    finally:
        _stop(proc, log)


def test_permissive_test_keys_assume_a_role_the_account_trusts(tmp_path: Path) -> None:
    """LocalStack's and moto's `test`/`test` assume a role and use the session (AWS lets no root do so)."""
    proc, endpoint, log = _serve(tmp_path / "data", "--auth", "permissive", env=_PERMISSIVE_ENV)
    try:
        trust = {"Effect": "Allow", "Principal": {"AWS": "210987654321"}, "Action": "sts:AssumeRole"}
        iam = _iam(endpoint, "test", "test")
        iam.create_role(
            RoleName="deployer",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )
        iam.attach_role_policy(RoleName="deployer", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        role_arn = "arn:aws:iam::210987654321:role/deployer"
        creds = _client("sts", endpoint, "test", "test").assume_role(RoleArn=role_arn, RoleSessionName="ci")[
            "Credentials"
        ]
        session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        me = _client("sts", endpoint, *session).get_caller_identity()
        assert me["Arn"] == "arn:aws:sts::210987654321:assumed-role/deployer/ci"
        assert _client("iam", endpoint, *session).get_role(RoleName="deployer")["Role"]["Arn"] == role_arn
        with pytest.raises(ClientError) as err:  # the session has the role's permissions, not the admin's
            _client("iam", endpoint, *session).create_user(UserName="not-allowed")
        assert err.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        _stop(proc, log)


def test_permissive_user_is_made_once_and_left_as_the_operator_set_it(tmp_path: Path) -> None:
    proc, endpoint, log = _serve(tmp_path / "data", "--auth", "permissive", env=_PERMISSIVE_ENV)
    try:
        admin = "arn:aws:iam::aws:policy/AdministratorAccess"
        root = _iam(endpoint, "AKIAPERMISSIVEROOT01", "s" * 40)
        root.detach_user_policy(UserName="ostiary-permissive", PolicyArn=admin)
        root.attach_user_policy(
            UserName="ostiary-permissive", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
        )
    finally:
        _stop(proc, log)
    proc, endpoint, log = _serve(tmp_path / "data", "--auth", "permissive", env=_PERMISSIVE_ENV)
    try:
        narrowed = _iam(endpoint, "test", "test")
        assert [u["UserName"] for u in narrowed.list_users()["Users"]] == ["ostiary-permissive"]
        with pytest.raises(ClientError) as err:
            narrowed.create_user(UserName="now-refused")
        assert err.value.response["Error"]["Code"] == "AccessDenied"
        root = _iam(endpoint, "AKIAPERMISSIVEROOT01", "s" * 40)
        root.detach_user_policy(
            UserName="ostiary-permissive", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
        )
        root.delete_user(UserName="ostiary-permissive")
        time.sleep(1.1)  # the user is looked up at most once a second
        gone = _client("sts", endpoint, "test", "test").get_caller_identity()
        assert gone["Arn"] == "arn:aws:iam::210987654321:root"  # without the user, unknown keys are root
    finally:
        _stop(proc, log)


def test_several_workers_share_one_store(tmp_path: Path) -> None:
    env = {"OSTIARY_ROOT_ACCESS_KEY_ID": "AKIAWORKERSROOT00001", "OSTIARY_ROOT_SECRET_ACCESS_KEY": "w" * 40}
    proc, endpoint, log = _serve(tmp_path / "data", "--workers", "2", env=env)
    try:
        iam = _iam(endpoint, "AKIAWORKERSROOT00001", "w" * 40)
        for i in range(6):  # new connections: the kernel spreads them over both workers
            _iam(endpoint, "AKIAWORKERSROOT00001", "w" * 40).create_user(UserName=f"worker-user-{i}")
        assert len(iam.list_users()["Users"]) == 6
        for _ in range(6):  # each scrape on a new connection: whichever worker answers, it counts all six
            with urllib.request.urlopen(f"{endpoint}/_ostiary/metrics", timeout=10) as scrape:
                families = {f.name: f for f in text_string_to_metric_families(scrape.read().decode())}
            created = [
                s.value
                for s in families["ostiary_requests"].samples
                if s.name == "ostiary_requests_total" and s.labels["operation"] == "CreateUser"
            ]
            assert sum(created) == 6
        assert (tmp_path / "data" / "metrics").is_dir()
    finally:
        _stop(proc, log, timeout=20)


def test_a_traceback_in_a_server_log_fails_the_run(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("INFO started\n")
    assert_no_traceback(log)
    log.write_text('ERROR internal failure\nTraceback (most recent call last):\n  File "x.py"\n')
    with pytest.raises(pytest.fail.Exception, match="holds a traceback"):
        assert_no_traceback(log)
