"""A DynamoDB restore through the gateway, with moto's server as the backend: the restore is asked on its
backup and DynamoDB's reads and writes on the new table, as AWS documents; the new table is the caller's
own, in the caller's account."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")

RESTORE = ["dynamodb:CreateBackup", "dynamodb:RestoreTableFromBackup", "dynamodb:DescribeTable"]
READ_WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-restore")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"dynamodb={backend}"
    )
    yield server
    stop_server(server)


def _caller(server: Server, actions: list[str]) -> Any:
    """A new user allowed `actions` on every table and backup; its DynamoDB client."""
    iam: Any = server.client("iam")
    name = f"restorer-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="restore", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("dynamodb", key["AccessKeyId"], key["SecretAccessKey"])


def _backup(server: Server) -> str:
    """A table of the root's with one item, and a backup of it; the backup's ARN."""
    dynamodb: Any = server.client("dynamodb")
    table = f"source-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "one"}})
    return str(dynamodb.create_backup(TableName=table, BackupName="nightly")["BackupDetails"]["BackupArn"])


def test_a_restore_needs_the_read_and_write_permissions_on_the_new_table(gateway: Server) -> None:
    backup = _backup(gateway)
    target = f"restored-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as refused:
        _caller(gateway, RESTORE).restore_table_from_backup(TargetTableName=target, BackupArn=backup)
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert (
        f"dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{target}"
        in error["Message"]
    )
    assert "no identity-based policy allows the dynamodb:PutItem action" in error["Message"]
    root: Any = gateway.client("dynamodb")
    assert target not in root.list_tables()["TableNames"]  # the backend never saw the restore


def test_a_restore_allowed_makes_a_table_of_the_callers_own(gateway: Server) -> None:
    backup = _backup(gateway)
    target = f"restored-{uuid.uuid4().hex[:8]}"
    restorer = _caller(gateway, RESTORE + READ_WRITE)
    restored = restorer.restore_table_from_backup(TargetTableName=target, BackupArn=backup)
    assert restored["TableDescription"]["TableName"] == target
    assert restorer.get_item(TableName=target, Key={"pk": {"S": "one"}})["Item"] == {"pk": {"S": "one"}}


def test_a_restore_from_a_backup_not_allowed_is_refused_on_the_backup(gateway: Server) -> None:
    backup = _backup(gateway)
    allowed_elsewhere = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": RESTORE + READ_WRITE, "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:RestoreTableFromBackup", "Resource": backup},
        ],
    }
    iam: Any = gateway.client("iam")
    name = f"restorer-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="restore", PolicyDocument=json.dumps(allowed_elsewhere))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    restorer: Any = gateway.client("dynamodb", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as refused:
        restorer.restore_table_from_backup(
            TargetTableName=f"restored-{uuid.uuid4().hex[:8]}", BackupArn=backup
        )
    message = refused.value.response["Error"]["Message"]
    assert f"dynamodb:RestoreTableFromBackup on resource: {backup}" in message
    assert "with an explicit deny in an identity-based policy" in message
