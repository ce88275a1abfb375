"""The seed's walkthrough (shared/seeds/000_…txt, "Putting It All Together") over real clients.

Michael, a developer, is in the Developers group (read DynamoDB, read S3). The DynamoDBExportRole,
trusted by Michael's account, may export one table to one bucket with one KMS key. Michael is refused
what the group does not allow, assumes the role through an SDK profile, and the simulator confirms
each allowed and refused action, in a fresh account of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def account(server: Server) -> dict[str, str]:
    """A fresh account made by `ostiary account create` beside the running server."""
    out = subprocess.run(
        [sys.executable, "-m", "ostiary", "account", "create"],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_michael_exports_through_the_role_and_nothing_more(
    server: Server, account: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct = account["AccountId"]
    root = server.client("iam", account["AccessKeyId"], account["SecretAccessKey"])
    table = f"arn:aws:dynamodb:us-east-1:{acct}:table/Orders"
    bucket, key = "arn:aws:s3:::weavix-exports", f"arn:aws:kms:us-east-1:{acct}:key/1234abcd-export"
    role_arn = f"arn:aws:iam::{acct}:role/DynamoDBExportRole"

    root.create_group(GroupName="Developers")
    for name in ("AmazonDynamoDBReadOnlyAccess", "AmazonS3ReadOnlyAccess"):
        root.attach_group_policy(GroupName="Developers", PolicyArn=f"arn:aws:iam::aws:policy/{name}")
    root.put_group_policy(
        GroupName="Developers",
        PolicyName="assume-export",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}),
    )
    root.create_user(UserName="Michael")
    root.add_user_to_group(GroupName="Developers", UserName="Michael")
    michael_key = root.create_access_key(UserName="Michael")["AccessKey"]

    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}, "Action": "sts:AssumeRole"}
    )
    root.create_role(RoleName="DynamoDBExportRole", AssumeRolePolicyDocument=trust)
    root.put_role_policy(
        RoleName="DynamoDBExportRole",
        PolicyName="export",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "dynamodb:ExportTableToPointInTime", "Resource": table},
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"{bucket}/*"},
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket},
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key,
            },
        ),
    )

    # Michael is refused what the group does not allow, word for word as AWS says it.
    michael = server.client("iam", michael_key["AccessKeyId"], michael_key["SecretAccessKey"])
    with pytest.raises(ClientError) as refused:
        michael.create_user(UserName="mallory")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{acct}:user/Michael is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{acct}:user/mallory because no identity-based policy allows the iam:CreateUser action"
    )

    # He assumes the role through a profile: the SDK calls AssumeRole itself.
    config = tmp_path / "config"
    config.write_text(
        f"[profile dev]\naws_access_key_id = {michael_key['AccessKeyId']}\n"
        f"aws_secret_access_key = {michael_key['SecretAccessKey']}\n"
        f"[profile export]\nrole_arn = {role_arn}\nsource_profile = dev\nrole_session_name = nightly-export\n"
    )
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    me = boto3.Session(profile_name="export").client("sts").get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{acct}:assumed-role/DynamoDBExportRole/nightly-export"
    assert me["Account"] == acct

    # The simulator confirms each allowed and refused action, for Michael and for the role.
    def decisions(principal: str, actions: list[str], resource: str) -> dict[str, str]:
        results = root.simulate_principal_policy(
            PolicySourceArn=principal, ActionNames=actions, ResourceArns=[resource]
        )["EvaluationResults"]
        return {r["EvalActionName"]: r["EvalDecision"] for r in results}

    michael_arn = f"arn:aws:iam::{acct}:user/Michael"
    assert decisions(
        michael_arn,
        ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:ExportTableToPointInTime"],
        table,
    ) == {
        "dynamodb:GetItem": "allowed",
        "dynamodb:Query": "allowed",
        "dynamodb:PutItem": "implicitDeny",
        "dynamodb:ExportTableToPointInTime": "implicitDeny",
    }
    assert decisions(michael_arn, ["s3:GetObject", "s3:PutObject"], f"{bucket}/data.json") == {
        "s3:GetObject": "allowed",
        "s3:PutObject": "implicitDeny",
    }
    assert decisions(role_arn, ["dynamodb:ExportTableToPointInTime", "dynamodb:DeleteTable"], table) == {
        "dynamodb:ExportTableToPointInTime": "allowed",
        "dynamodb:DeleteTable": "implicitDeny",
    }
    assert decisions(role_arn, ["s3:PutObject", "s3:DeleteObject"], f"{bucket}/export/1.json") == {
        "s3:PutObject": "allowed",
        "s3:DeleteObject": "implicitDeny",
    }
    assert decisions(role_arn, ["kms:Decrypt", "kms:GenerateDataKey"], key) == {
        "kms:Decrypt": "allowed",
        "kms:GenerateDataKey": "allowed",
    }
    other_key = f"arn:aws:kms:us-east-1:{acct}:key/other"
    assert decisions(role_arn, ["kms:Decrypt"], other_key) == {"kms:Decrypt": "implicitDeny"}
