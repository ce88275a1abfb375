"""A map's keys in the trail as they were sent: gateway calls through `ostiary serve --backend ...`
(moto's server behind), then LookupEvents. A structure's member names are CloudTrail's camelCase; a
KMS encryption context's keys, a DynamoDB table's name in `RequestItems`, an attribute's name in a key
and a tag's key are data, recorded as sent, and a key's values without their types, as CloudTrail's
DynamoDB data events record them (`"key": {"Artist": "No One You Know"}`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Server, start_server, stop_server
from tests.integration.authz_helpers import allow, doc
from tests.integration.gateway_helpers import moto_backend, records_by_name

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-trail-map-keys")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"*={backend}"
    )
    yield server
    stop_server(server)


def _user(gateway: Server, *actions: str) -> tuple[str, Any]:
    """A user allowed `actions` on every resource, and its clients."""
    iam: Any = gateway.client("iam")
    name = f"map-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow(list(actions), "*")))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, lambda service: gateway.client(service, key["AccessKeyId"], key["SecretAccessKey"])


def test_a_kms_encryption_contexts_keys_are_recorded_as_sent(gateway: Server) -> None:
    key_id = gateway.client("kms").create_key()["KeyMetadata"]["KeyId"]  # type: ignore[attr-defined]
    name, client = _user(gateway, "kms:Encrypt", "kms:TagResource")
    kms = client("kms")
    context = {"Department": "Finance", "CostCenter": "CC-12"}
    kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=context)
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "Owner", "TagValue": "Ops"}])
    records = records_by_name(gateway, name)
    (encrypt,) = records["Encrypt"]
    assert "errorCode" not in encrypt
    assert encrypt["requestParameters"] == {"keyId": key_id, "encryptionContext": context}
    (tagged,) = records["TagResource"]  # a list of tags: structures, their members camelCased
    assert tagged["requestParameters"]["tags"] == [{"tagKey": "Owner", "tagValue": "Ops"}]


def test_dynamodb_table_and_attribute_names_are_recorded_as_sent(gateway: Server) -> None:
    table = f"Orders{uuid.uuid4().hex[:8]}"
    gateway.client("dynamodb").create_table(  # type: ignore[attr-defined]
        TableName=table,
        KeySchema=[{"AttributeName": "OrderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "OrderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    name, client = _user(
        gateway, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"
    )
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"OrderId": {"S": "o-1"}, "Total": {"N": "987654321"}})
    dynamodb.get_item(
        TableName=table,
        Key={"OrderId": {"S": "o-1"}},
        ProjectionExpression="#T",
        ExpressionAttributeNames={"#T": "Total"},
    )
    dynamodb.batch_get_item(RequestItems={table: {"Keys": [{"OrderId": {"S": "o-1"}}]}})
    dynamodb.batch_write_item(
        RequestItems={
            table: [{"PutRequest": {"Item": {"OrderId": {"S": "o-2"}, "Total": {"N": "987654321"}}}}]
        }
    )
    records = records_by_name(gateway, name)
    (put,) = records["PutItem"]
    assert put["requestParameters"] == {  # the item's key beside its names, as CloudTrail records a put
        "tableName": table,
        "key": {"OrderId": "o-1"},
        "item": ["OrderId", "Total"],
    }
    (got,) = records["GetItem"]
    assert "errorCode" not in got
    assert got["requestParameters"] == {
        "tableName": table,
        "key": {"OrderId": "o-1"},  # DynamoDB's developer guide: a key's values without their types
        "projectionExpression": "#T",
        "expressionAttributeNames": {"#T": "Total"},
    }
    (batch_get,) = records["BatchGetItem"]
    assert batch_get["requestParameters"] == {"requestItems": {table: {"keys": [{"OrderId": "o-1"}]}}}
    (batch_write,) = records["BatchWriteItem"]
    assert batch_write["requestParameters"] == {
        "requestItems": {table: [{"putRequest": {"item": ["OrderId", "Total"]}}]}
    }
    assert "987654321" not in json.dumps(records)  # an item's other values: never recorded


def test_tags_sent_as_a_map_keep_their_keys(gateway: Server) -> None:
    """SQS's tags and attributes are maps (a service behind the catch-all backend)."""
    name, client = _user(gateway, "sqs:CreateQueue")
    queue = f"map-{uuid.uuid4().hex[:8]}"
    client("sqs").create_queue(
        QueueName=queue, Attributes={"VisibilityTimeout": "7"}, tags={"CostCenter": "CC-12"}
    )
    (created,) = records_by_name(gateway, name)["CreateQueue"]
    assert created["requestParameters"] == {
        "queueName": queue,
        "attributes": {"VisibilityTimeout": "7"},
        "tags": {"CostCenter": "CC-12"},
    }
