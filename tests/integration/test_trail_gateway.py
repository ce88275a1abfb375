"""The gateway's decisions in the trail: DynamoDB and S3 calls through `ostiary serve --backend ...`
(moto's server behind), allowed or refused, each one CloudTrail record with its caller and resources."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.authz_helpers import allow, doc
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-trail-gateway")
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'ostiary.db'}",
        "sqlite",
        "--backend",
        f"dynamodb={backend}",
        "--backend",
        f"s3={backend}",
        "--backend",
        f"*={backend}",
    )
    yield server
    stop_server(server)


def _user(gateway: Server, *statements: dict[str, Any]) -> tuple[str, dict[str, str]]:
    iam = gateway.client("iam")
    name = f"gw-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def _records(gateway: Server, key: str, value: str) -> list[dict[str, Any]]:
    page = gateway.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]
    )
    return [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]


def test_an_allowed_dynamodb_call_names_its_table(gateway: Server) -> None:
    table = f"T{uuid.uuid4().hex[:10]}"
    gateway.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"
    (record,) = _records(gateway, "ResourceName", arn)
    assert record["eventSource"] == "dynamodb.amazonaws.com" and record["eventName"] == "CreateTable"
    assert "errorCode" not in record and record["userIdentity"]["type"] == "Root"
    assert record["resources"] == [{"ARN": arn, "accountId": ACCOUNT, "type": "AWS::DynamoDB::Table"}]
    assert record["managementEvent"] is True and record["awsRegion"] == "us-east-1"


def test_a_refused_dynamodb_call_is_recorded_with_its_refusal(gateway: Server) -> None:
    name, creds = _user(gateway)
    with pytest.raises(ClientError) as exc:
        gateway.client("dynamodb", **creds).get_item(TableName="Nope", Key={"k": {"S": "secret-key-value"}})
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    (record,) = [r for r in _records(gateway, "Username", name) if r["eventName"] == "GetItem"]
    assert record["errorCode"] == "AccessDenied"
    assert record["errorMessage"] == exc.value.response["Error"]["Message"]
    assert record["userIdentity"]["userName"] == name
    assert record["managementEvent"] is False and record["eventCategory"] == "Data"


def test_s3_objects_allowed_and_refused(gateway: Server) -> None:
    bucket = f"b-{uuid.uuid4().hex[:16]}"
    gateway.client("s3").create_bucket(Bucket=bucket)
    name, creds = _user(gateway, allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    s3 = gateway.client("s3", **creds)
    with pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="report.csv", Body=b"confidential body")
    gateway.client("s3").put_object(Bucket=bucket, Key="report.csv", Body=b"confidential body")
    assert s3.get_object(Bucket=bucket, Key="report.csv")["Body"].read() == b"confidential body"
    mine = {r["eventName"]: r for r in _records(gateway, "Username", name)}
    put, get = mine["PutObject"], mine["GetObject"]
    assert put["errorCode"] == "AccessDenied" and "errorCode" not in get
    assert put["eventSource"] == "s3.amazonaws.com" and put["eventCategory"] == "Data"
    assert {"ARN": f"arn:aws:s3:::{bucket}/report.csv", "accountId": ACCOUNT, "type": "AWS::S3::Object"} in (
        get["resources"]
    )
    assert "confidential body" not in json.dumps(put)


def test_lookup_events_is_never_forwarded_to_a_catch_all_backend(gateway: Server) -> None:
    gateway.client("iam").list_users()  # an event of its own: the test may run first, or alone
    page = gateway.client("cloudtrail").lookup_events(MaxResults=1)
    assert len(page["Events"]) == 1  # Ostiary's trail: moto's CloudTrail would have none of these
    assert json.loads(page["Events"][0]["CloudTrailEvent"])["recipientAccountId"] == ACCOUNT


def _errors(gateway: Server, name: str, event: str) -> list[tuple[str | None, str | None]]:
    return [
        (r.get("errorCode"), r.get("errorMessage"))
        for r in _records(gateway, "Username", name)
        if r["eventName"] == event
    ]


def test_a_call_the_backend_refuses_is_recorded_with_the_backends_error(gateway: Server) -> None:
    """An allowed call that fails in the service is recorded with the service's errorCode and errorMessage,
    as CloudTrail records it (each twice: the first decision is made on a thread, the next from cache)."""
    bucket = f"b-{uuid.uuid4().hex[:16]}"
    gateway.client("s3").create_bucket(Bucket=bucket)
    name, creds = _user(gateway, allow(["dynamodb:GetItem", "s3:GetObject", "s3:ListBucket"], "*"))
    dynamodb, s3 = gateway.client("dynamodb", **creds), gateway.client("s3", **creds)
    answered: dict[str, list[tuple[str, str]]] = {"GetItem": [], "GetObject": [], "HeadObject": []}
    for _ in range(2):
        for event, call in (
            ("GetItem", lambda: dynamodb.get_item(TableName=f"Missing{bucket[2:12]}", Key={"k": {"S": "v"}})),
            ("GetObject", lambda: s3.get_object(Bucket=bucket, Key="missing.txt")),
            ("HeadObject", lambda: s3.head_object(Bucket=bucket, Key="missing.txt")),
        ):
            with pytest.raises(ClientError) as exc:
                call()
            error = exc.value.response["Error"]
            answered[event].append((error["Code"], error.get("Message", "")))
    assert {code for code, _ in answered["GetItem"]} == {"ResourceNotFoundException"}
    assert _errors(gateway, name, "GetItem") == answered["GetItem"]
    assert {code for code, _ in answered["GetObject"]} == {"NoSuchKey"}
    assert _errors(gateway, name, "GetObject") == answered["GetObject"]
    assert _errors(gateway, name, "HeadObject") == [("NotFound", ""), ("NotFound", "")]  # no body names it


def test_a_refusal_made_after_the_decision_is_recorded_as_refused(gateway: Server) -> None:
    """The identity policy allows PutBucketPolicy, but the bucket's Block Public Access (on for a new
    bucket) refuses a public policy: the record says AccessDenied, not a success."""
    bucket = f"b-{uuid.uuid4().hex[:16]}"
    gateway.client("s3").create_bucket(Bucket=bucket)
    name, creds = _user(gateway, allow("s3:PutBucketPolicy", f"arn:aws:s3:::{bucket}"))
    public = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    with pytest.raises(ClientError) as exc:
        gateway.client("s3", **creds).put_bucket_policy(Bucket=bucket, Policy=doc(public))
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    ((code, message),) = _errors(gateway, name, "PutBucketPolicy")
    assert code == "AccessDenied" and message
