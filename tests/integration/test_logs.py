"""`--log-format json`: every line of a run's log is a JSON object, the lines of a request carry the
request id the client got, and none of the secrets the run used appears anywhere in the log."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from ostiary.operations.logs import mask
from tests.conftest import ROOT_SECRET, Server, start_server, stop_server


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[str]]]:
    """A JSON-logging server and the secrets a workload used on it; the log is read once it stopped."""
    data_dir = tmp_path_factory.mktemp("logs")
    keyring = base64.b64encode(os.urandom(32)).decode()
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'ostiary.db'}",
        "sqlite",
        env_extra={"OSTIARY_LOG_FORMAT": "json", "OSTIARY_KEYRING_KEY": keyring},
    )
    try:
        secrets = [ROOT_SECRET, keyring, *_workload(server)]
        yield server, secrets
    finally:
        stop_server(server)


def _workload(server: Server) -> list[str]:
    """Calls that carry secrets every way: keys, passwords, session tokens, MFA seeds, presigned URLs."""
    iam = server.client("iam")
    iam.create_user(UserName="logged")
    key = iam.create_access_key(UserName="logged")["AccessKey"]
    password, new_password = "Log-secret-pass-0123456789!", "Log-secret-pass-abcdefghij!"
    iam.create_login_profile(UserName="logged", Password=password)
    iam.update_login_profile(UserName="logged", Password=new_password)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="logged-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="logged", PolicyName="assume", PolicyDocument=json.dumps(allow))
    user_sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    session = user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="logged")["Credentials"]
    as_role = server.client(
        "sts", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    )
    as_role.get_caller_identity()
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="logged-mfa")["VirtualMFADevice"]
    seed = (
        mfa["Base32StringSeed"].decode()
        if isinstance(mfa["Base32StringSeed"], bytes)
        else mfa["Base32StringSeed"]
    )
    service_credential = iam.create_service_specific_credential(
        UserName="logged", ServiceName="codecommit.amazonaws.com"
    )
    service_password = service_credential["ServiceSpecificCredential"]["ServicePassword"]
    as_user = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError):  # refused: the user has no policy
        as_user.list_users()
    wrong = server.client("iam", key["AccessKeyId"], "not-" + key["SecretAccessKey"])
    with pytest.raises(ClientError):
        wrong.list_users()
    url = server.client(
        "sts", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    ).generate_presigned_url("get_caller_identity", HttpMethod="GET")
    assert requests.get(url, timeout=30).status_code == 200
    requests.post(
        server.endpoint + "/", data=f"Action=ChangePassword&OldPassword={password}&NewPassword=x", timeout=30
    )
    return [
        key["SecretAccessKey"],
        password,
        new_password,
        session["SecretAccessKey"],
        session["SessionToken"],
        seed,
        service_password,
        url.split("X-Amz-Signature=")[1],
    ]


def _lines(server: Server) -> list[dict[str, Any]]:
    lines = (server.data_dir / "server.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_line_is_json_with_time_level_logger_and_message(run: tuple[Server, list[str]]) -> None:
    server, _ = run
    lines = _lines(server)  # json.loads fails on any line that is not JSON
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    assert any("Ostiary listening on" in line["message"] for line in lines)  # the start, as JSON too


def test_a_request_line_carries_the_request_id_the_client_got(run: tuple[Server, list[str]]) -> None:
    server, _ = run
    answer = server.client("iam").get_user(UserName="logged")
    request_id = answer["ResponseMetadata"]["RequestId"]
    with pytest.raises(ClientError) as refused:
        server.client("iam").get_user(UserName="nobody-logged")
    refused_id = refused.value.response["ResponseMetadata"]["RequestId"]
    found = {line.get("request_id"): line for line in _lines(server) if line["logger"] == "ostiary.requests"}
    assert found[request_id]["status"] == 200 and found[request_id]["operation"] == "GetUser"
    assert found[refused_id]["status"] == 404 and found[refused_id]["service"] == "iam"
    assert found[request_id]["duration_ms"] >= 0


def test_no_secret_of_the_run_is_in_the_log(run: tuple[Server, list[str]]) -> None:
    server, secrets = run
    text = (server.data_dir / "server.log").read_text()
    assert len(text) > 1000  # the run logged something
    for secret in secrets:
        assert secret and secret not in text, f"a secret is in the log: {secret[:4]}..."


def test_the_mask_hides_secret_shaped_values() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert secret not in mask(f"failed with {secret} in it")
    assert mask("X-Amz-Signature=abcdef0123&X-Amz-Date=20260101") == "X-Amz-Signature=***&X-Amz-Date=20260101"
    assert mask('{"Password": "hunter2-secret"}') == '{"Password": "***"}'
    assert "FwoGZXIvYXdz" not in mask("token FwoGZXIvYXdz" + "A" * 200)
    assert (
        mask("user logged in arn:aws:iam::123456789012:user/alice")
        == "user logged in arn:aws:iam::123456789012:user/alice"
    )


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_an_unknown_log_format_stops_the_start_saying_why(how: str, tmp_path: Path) -> None:
    args = [sys.executable, "-m", "ostiary", "serve", "--data-dir", str(tmp_path), "--port", "1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSTIARY_")}
    if how == "flag":
        args.append("--log-format=xml")
    else:
        env["OSTIARY_LOG_FORMAT"] = "xml"
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "'xml' is not one of 'text', 'json'" in done.stderr
    assert not (tmp_path / "ostiary.db").exists()  # refused before anything was made
