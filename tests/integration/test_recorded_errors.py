"""AWS's recorded error answers, replayed through boto3: the same code, message and HTTP status.

Each case of `aws_recorded_errors.jsonl` is one error record of shared/aws-recorded (LocalStack's
snapshots of real AWS, Apache-2.0; `id` is the record's) that the server can reproduce: the calls that
set up its situation, the call itself, and AWS's answer. In the cases' strings `<uid>` is a suffix unique
to the case, `<account>` the account, `<caller>` the calling session's ARN, `<access-key>` the key and
`<code1>`/`<code2>` two consecutive TOTP codes of the device that a setup call created.

The cases run in a fresh account as an administrator's role session (AWS's recordings were made by an
administrator that is no IAM user: `DeleteAccessKey` without a user name is refused).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.test_accounts import client

CASES = [json.loads(line) for line in Path(__file__).with_name("aws_recorded_errors.jsonl").open()]
_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


class Admin:
    """An administrator's role session in a fresh account: its IAM and STS clients and its ARN."""

    def __init__(self, server: Server) -> None:
        root = server.new_account()
        self.account_id = root["AccountId"]
        iam = client(server, "iam", root)
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=_ALL)
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        trust = {"Effect": "Allow", "Principal": {"AWS": self.account_id}, "Action": "sts:AssumeRole"}
        iam.create_role(
            RoleName="admin",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )
        iam.put_role_policy(RoleName="admin", PolicyName="all", PolicyDocument=_ALL)
        assumed = client(server, "sts", key).assume_role(
            RoleArn=f"arn:aws:iam::{self.account_id}:role/admin", RoleSessionName="recorded"
        )
        self.arn = assumed["AssumedRoleUser"]["Arn"]
        self.clients = {
            service: client(server, service, assumed["Credentials"]) for service in ("iam", "sts")
        }

    def call(self, service: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(getattr(self.clients[service], xform_name(action))(**params))


@pytest.fixture(scope="module")
def admin(server: Server) -> Admin:
    return Admin(server)


def _fill(value: Any, tokens: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, tokens) for v in value]
    if isinstance(value, str):
        for token, text in tokens.items():
            value = value.replace(token, text)
    return value


def _remember(tokens: dict[str, str], response: dict[str, Any]) -> None:
    """Take the values later calls refer to from a setup call's response."""
    seed = response.get("VirtualMFADevice", {}).get("Base32StringSeed")
    if seed is not None:
        totp, step = pyotp.TOTP(seed.decode()), int(time.time()) // 30
        tokens["<code1>"], tokens["<code2>"] = totp.generate_otp(step - 1), totp.generate_otp(step)
    if "AccessKey" in response:
        tokens["<access-key>"] = response["AccessKey"]["AccessKeyId"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['id']}-{c['action']}-{c['code']}" for c in CASES])
def test_recorded_aws_error_is_reproduced(admin: Admin, unique: str, case: dict[str, Any]) -> None:
    tokens = {"<uid>": unique, "<account>": admin.account_id, "<caller>": admin.arn}
    for service, action, params in case.get("setup", []):
        _remember(tokens, admin.call(service, action, _fill(params, tokens)))
    with pytest.raises(ClientError) as exc:
        admin.call(case["service"], case["action"], _fill(case["params"], tokens))
    err = exc.value.response
    got = err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]
    assert got == (case["code"], _fill(case["message"], tokens), case["status"])
