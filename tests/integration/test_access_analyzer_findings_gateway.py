"""External-access findings on S3 bucket policies and KMS key policies written through the gateway (moto
as its backend): a PutBucketPolicy or PutKeyPolicy that grants another account or the public yields
findings naming who gets what, and a policy that no longer does resolves them; and the AWS CLI's view of
a role's finding. One server over SQLite: the store paths are covered on both backends by
test_access_analyzer_findings.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway_helpers import moto_backend
from tests.integration.test_gateway_ownership import Harness, running_harness

OTHER = "210987654321"


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    backend = moto_backend(tmp_path_factory)
    yield from running_harness(next(backend), tmp_path_factory)
    backend.close()


def test_bucket_policy_put_through_the_gateway_is_analyzed(harness: Harness) -> None:
    root = harness.account()
    s3 = harness.client("s3", root)
    aa = harness.client("accessanalyzer", root)
    bucket = f"aa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    arn = aa.create_analyzer(analyzerName="external", type="ACCOUNT")["arn"]
    assert aa.list_findings(analyzerArn=arn)["findings"] == []
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        },
    ]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    found = {json.dumps(f["principal"]): f for f in aa.list_findings(analyzerArn=arn)["findings"]}
    cross = found[json.dumps({"AWS": f"arn:aws:iam::{OTHER}:root"})]
    assert (cross["resource"], cross["resourceType"]) == (f"arn:aws:s3:::{bucket}", "AWS::S3::Bucket")
    assert (cross["action"], cross["isPublic"], cross["status"]) == (["s3:GetObject"], False, "ACTIVE")
    anyone = found[json.dumps({"AWS": "*"})]
    assert anyone["condition"] == {"aws:SourceIp": "203.0.113.0/24"}
    assert anyone["isPublic"] is False  # limited to a network
    assert len(found) == 2
    # another account's analyzer never sees the bucket
    theirs = harness.client("accessanalyzer", harness.account())
    their_arn = theirs.create_analyzer(analyzerName="external", type="ACCOUNT")["arn"]
    assert theirs.list_findings(analyzerArn=their_arn)["findings"] == []
    s3.delete_bucket_policy(Bucket=bucket)
    assert {f["status"] for f in aa.list_findings(analyzerArn=arn)["findings"]} == {"RESOLVED"}


def test_a_key_policy_put_through_the_gateway_is_analyzed(harness: Harness) -> None:
    """A key policy the gateway keeps (CreateKey's, PutKeyPolicy's) is analyzed as the bucket policies
    are: its grant to another account is a finding on the key; the default key policy (the owner's root)
    is none, nor is a key made before the analyzer with a policy naming only the owner."""
    root = harness.account()
    account = root["AccountId"]
    kms = harness.client("kms", root)
    aa = harness.client("accessanalyzer", root)
    own = kms.create_key()["KeyMetadata"]["Arn"]  # AWS's default key policy
    manage = {
        "Sid": "owner",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    alone = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [manage]}))
    arn = aa.create_analyzer(analyzerName="external", type="ACCOUNT")["arn"]
    assert aa.list_findings(analyzerArn=arn)["findings"] == []
    shared = kms.create_key()["KeyMetadata"]
    use = {
        "Sid": "partner",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": ["kms:Decrypt", "kms:Encrypt"],
        "Resource": "*",
    }
    kms.put_key_policy(
        KeyId=shared["KeyId"],
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [manage, use]}),
    )
    (finding,) = aa.list_findings(analyzerArn=arn)["findings"]
    key_arn = f"arn:aws:kms:us-east-1:{account}:key/{shared['KeyId']}"
    assert (finding["resource"], finding["resourceType"]) == (key_arn, "AWS::KMS::Key")
    assert finding["principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    assert sorted(finding["action"]) == ["kms:Decrypt", "kms:Encrypt"]
    assert (finding["isPublic"], finding["status"]) == (False, "ACTIVE")
    assert own != shared["Arn"] != alone["KeyMetadata"]["Arn"]  # (three keys, one of them shared)
    kms.put_key_policy(
        KeyId=shared["KeyId"],
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [manage]}),
    )
    assert {f["status"] for f in aa.list_findings(analyzerArn=arn)["findings"]} == {"RESOLVED"}


def test_the_aws_cli_lists_a_roles_finding(harness: Harness, tmp_path: Path) -> None:
    root = harness.account()
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole"}],
    }
    harness.iam(root).create_role(RoleName="DynamoDBExportRole", AssumeRolePolicyDocument=json.dumps(trust))
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=root["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=root["SecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )

    def cli(*args: str) -> Any:
        command = [
            sys.executable,
            "-m",
            "awscli",
            "accessanalyzer",
            *args,
            "--endpoint-url",
            harness.server.endpoint,
            "--output",
            "json",
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    arn = cli("create-analyzer", "--analyzer-name", "external", "--type", "ACCOUNT")["arn"]
    (finding,) = cli("list-findings", "--analyzer-arn", arn)["findings"]
    assert finding["principal"] == {"AWS": OTHER}
    assert finding["resource"] == f"arn:aws:iam::{root['AccountId']}:role/DynamoDBExportRole"
