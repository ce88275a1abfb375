"""The ARNs a DynamoDB or KMS answer names carry the resource owner's account, not the backend's.

Every account shares one backend, whose own account (moto's 123456789012, the default account here) is
in every ARN it writes: the gateway rewrites each table's, index's, stream's, backup's, export's, key's
and alias's ARN (and a key's `AWSAccountId`) to the account that owns it as Ostiary knows it, and an
ARN a client sends back reaches the backend with the backend's account.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT
from tests.integration.test_gateway_ownership import REGION, Harness, harness_fixtures

backend, harness = harness_fixtures()


def _table(dynamodb: Any) -> dict[str, Any]:
    name = f"arns-{uuid.uuid4().hex[:8]}"
    created = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    description: dict[str, Any] = created["TableDescription"]
    return description


def _prefix(account: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{account}:table/"


def test_an_accounts_key_answers_name_its_account(harness: Harness) -> None:
    mine = harness.account()
    account = mine["AccountId"]
    kms = harness.client("kms", mine)
    metadata = kms.create_key()["KeyMetadata"]
    key = metadata["KeyId"]
    arn = f"arn:aws:kms:{REGION}:{account}:key/{key}"
    assert (metadata["Arn"], metadata["AWSAccountId"]) == (arn, account)
    described = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert (described["Arn"], described["AWSAccountId"]) == (arn, account)
    assert kms.list_keys()["Keys"] == [{"KeyId": key, "KeyArn": arn}]
    assert kms.encrypt(KeyId=arn, Plaintext=b"x")["KeyId"] == arn
    alias = f"alias/arns-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=arn)
    listed = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias]
    assert [a["AliasArn"] for a in listed] == [f"arn:aws:kms:{REGION}:{account}:{alias}"]
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == arn
    kms.tag_resource(KeyId=arn, Tags=[{"TagKey": "k", "TagValue": "v"}])
    assert kms.list_resource_tags(KeyId=arn)["Tags"] == [{"TagKey": "k", "TagValue": "v"}]


def test_the_default_accounts_key_answers_are_the_backends(harness: Harness) -> None:
    metadata = harness.client("kms").create_key()["KeyMetadata"]
    assert metadata["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{metadata['KeyId']}"
    assert metadata["AWSAccountId"] == ACCOUNT


def test_another_accounts_key_read_through_its_key_policy_names_its_owner(harness: Harness) -> None:
    owner, reader = harness.account(), harness.account()
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{owner['AccountId']}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{reader['AccountId']}:root"},
            "Action": ["kms:DescribeKey", "kms:Encrypt"],
            "Resource": "*",
        },
    ]
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    key = harness.client("kms", owner).create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    arn = f"arn:aws:kms:{REGION}:{owner['AccountId']}:key/{key}"
    kms = harness.client("kms", reader)
    described = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert (described["Arn"], described["AWSAccountId"]) == (arn, owner["AccountId"])
    assert kms.encrypt(KeyId=arn, Plaintext=b"x")["KeyId"] == arn


def test_an_accounts_table_answers_name_its_account_and_its_arns_work(harness: Harness) -> None:
    mine = harness.account()
    account = mine["AccountId"]
    dynamodb = harness.client("dynamodb", mine)
    created = _table(dynamodb)
    name = created["TableName"]
    arn = f"{_prefix(account)}{name}"
    assert created["TableArn"] == arn
    described = dynamodb.describe_table(TableName=arn)["Table"]
    assert described["TableArn"] == arn
    updated = dynamodb.update_table(
        TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )["TableDescription"]
    assert updated["TableArn"] == arn
    assert updated["LatestStreamArn"].startswith(f"{arn}/stream/")
    assert name in dynamodb.list_tables()["TableNames"]
    backup = dynamodb.create_backup(TableName=name, BackupName="own-backup")["BackupDetails"]["BackupArn"]
    assert backup.startswith(f"{arn}/backup/")
    assert dynamodb.describe_backup(BackupArn=backup)["BackupDescription"]["BackupDetails"]["BackupArn"] == (
        backup
    )
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    bucket = f"arns-{uuid.uuid4().hex[:8]}"
    harness.client("s3", mine).create_bucket(Bucket=bucket)
    export = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="x")[
        "ExportDescription"
    ]
    assert export["TableArn"] == arn
    assert ":123456789012:" not in export["ExportArn"] and account in export["ExportArn"]


def test_the_default_accounts_table_answers_are_the_backends(harness: Harness) -> None:
    created = _table(harness.client("dynamodb"))
    assert created["TableArn"] == f"{_prefix(ACCOUNT)}{created['TableName']}"


def test_an_error_quoting_a_table_arn_names_its_owner(harness: Harness) -> None:
    mine = harness.account()
    dynamodb = harness.client("dynamodb", mine)
    name = _table(dynamodb)["TableName"]
    arn = f"{_prefix(mine['AccountId'])}{name}"
    with pytest.raises(ClientError) as missing:
        dynamodb.get_resource_policy(ResourceArn=arn)
    assert missing.value.response["Error"]["Message"] == (
        f"Resource-based policy not found for the provided ResourceArn: {arn}"
    )


def test_an_error_quoting_the_backends_key_arn_names_its_owner(harness: Harness) -> None:
    """A key Ostiary knows as the account's but the backend lost (its state reset): KMS's
    NotFoundException quotes the key's ARN, the owner's."""
    mine = harness.account()
    kms = harness.client("kms", mine)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    urllib.request.urlopen(urllib.request.Request(f"{harness.backend}/moto-api/reset", method="POST"))
    with pytest.raises(ClientError) as missing:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert missing.value.response["Error"]["Message"] == (
        f"Key 'arn:aws:kms:{REGION}:{mine['AccountId']}:key/{key}' does not exist"
    )
