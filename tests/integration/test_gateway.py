"""The gateway end to end: boto3 against `ostiary serve --backend dynamodb=... --backend kms=...`, with
moto's server as the backend. Callers are Ostiary's users and role sessions; the engine decides."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, free_port, start_server, stop_server
from tests.integration.gateway_helpers import backend_client, moto_backend
from tests.integration.gateway_helpers import refusal as _refusal

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

TABLE = "Music"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on a free loopback port: DynamoDB, KMS and the rest in one process."""
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-gateway")
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'ostiary.db'}",
        "sqlite",
        "--backend",
        f"dynamodb={backend}",
        "--backend",
        f"kms={backend}",
        "--backend",
        f"s3={backend}",
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def key_arn(gateway: Server) -> str:
    """A KMS key in the backend, created through the gateway by the account's root."""
    kms = gateway.client("kms")
    return str(kms.create_key(Description="gateway test key")["KeyMetadata"]["Arn"])


@pytest.fixture(scope="module")
def table(gateway: Server) -> str:
    """The Music table with one item, created through the gateway by the account's root."""
    dynamodb = gateway.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "Artist", "KeyType": "HASH"},
            {"AttributeName": "Song", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "Artist", "AttributeType": "S"},
            {"AttributeName": "Song", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=TABLE, Item={"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}})
    return TABLE


def _user(gateway: Server, statements: list[dict[str, Any]]) -> tuple[str, Any]:
    """A new IAM user with one inline policy of `statements`: (its ARN, a session of its keys)."""
    iam = gateway.client("iam")
    name = f"gw-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def _client(gateway: Server, service: str, keys: tuple[str, ...]) -> Any:
    return gateway.client(service, *keys)


def test_a_reader_scans_and_gets_items_but_is_refused_put_item_with_awss_message(
    gateway: Server, table: str
) -> None:
    arn, keys = _user(
        gateway, [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"], "Resource": TABLE_ARN}]
    )
    dynamodb = _client(gateway, "dynamodb", keys)
    assert dynamodb.scan(TableName=table)["Items"] == [{"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}}]
    got = dynamodb.get_item(TableName=table, Key={"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}})
    assert got["Item"]["Song"] == {"S": "Happy Day"}
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={"Artist": {"S": "Intruder"}, "Song": {"S": "x"}})
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: dynamodb:PutItem on resource: {TABLE_ARN} "
        "because no identity-based policy allows the dynamodb:PutItem action",
        400,
    )
    root = gateway.client("dynamodb")
    assert "Item" not in root.get_item(TableName=table, Key={"Artist": {"S": "Intruder"}, "Song": {"S": "x"}})


def test_a_policy_on_another_table_allows_nothing_on_this_one(gateway: Server, table: str) -> None:
    other = TABLE_ARN.replace(":table/Music", ":table/Other")
    arn, keys = _user(gateway, [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": other}])
    with pytest.raises(ClientError) as refused:
        _client(gateway, "dynamodb", keys).scan(TableName=table)
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: dynamodb:Scan on resource: {TABLE_ARN} "
        "because no identity-based policy allows the dynamodb:Scan action"
    )


def test_an_explicit_deny_refuses_with_its_own_words(gateway: Server, table: str) -> None:
    arn, keys = _user(
        gateway,
        [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": TABLE_ARN},
        ],
    )
    dynamodb = _client(gateway, "dynamodb", keys)
    assert TABLE in dynamodb.list_tables()["TableNames"]
    with pytest.raises(ClientError) as refused:
        dynamodb.delete_table(TableName=table)
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: dynamodb:DeleteTable on resource: {TABLE_ARN} "
        "with an explicit deny in an identity-based policy"
    )
    assert gateway.client("dynamodb").describe_table(TableName=table)["Table"]["TableName"] == TABLE


def test_leading_keys_conditions_decide_per_item_with_the_tables_key_schema(
    gateway: Server, table: str
) -> None:
    condition = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["Acme"]}}
    _, keys = _user(
        gateway,
        [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN, "Condition": condition}],
    )
    dynamodb = _client(gateway, "dynamodb", keys)
    got = dynamodb.get_item(TableName=table, Key={"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}})
    assert got["Item"]["Artist"] == {"S": "Acme"}  # the partition key (from DescribeTable) is Artist
    with pytest.raises(ClientError) as refused:
        dynamodb.get_item(TableName=table, Key={"Artist": {"S": "Other"}, "Song": {"S": "Acme"}})
    assert _refusal(refused.value)[0] == "AccessDeniedException"


def test_kms_encrypt_is_allowed_on_the_key_and_decrypt_refused(gateway: Server, key_arn: str) -> None:
    arn, keys = _user(gateway, [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key_arn}])
    kms = _client(gateway, "kms", keys)
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"secret")["CiphertextBlob"]
    with pytest.raises(ClientError) as refused:
        kms.decrypt(KeyId=key_arn, CiphertextBlob=blob)
    assert _refusal(refused.value) == (
        "AccessDeniedException",
        f"User: {arn} is not authorized to perform: kms:Decrypt on resource: {key_arn} "
        "because no identity-based policy allows the kms:Decrypt action",
        400,
    )
    assert gateway.client("kms").decrypt(KeyId=key_arn, CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_decrypt_without_a_key_id_is_decided_on_the_key_the_ciphertext_names(
    gateway: Server, key_arn: str
) -> None:
    blob = gateway.client("kms").encrypt(KeyId=key_arn, Plaintext=b"payload")["CiphertextBlob"]
    _, allowed = _user(gateway, [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}])
    assert _client(gateway, "kms", allowed).decrypt(CiphertextBlob=blob)["Plaintext"] == b"payload"
    other = key_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    arn, refused_keys = _user(gateway, [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": other}])
    with pytest.raises(ClientError) as refused:
        _client(gateway, "kms", refused_keys).decrypt(CiphertextBlob=blob)
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: kms:Decrypt on resource: {key_arn} "
        "because no identity-based policy allows the kms:Decrypt action"
    )
    assert b"payload" not in json.dumps(refused.value.response, default=str).encode()


def test_an_alias_is_authorized_as_the_key_it_points_to(gateway: Server, key_arn: str) -> None:
    alias = f"alias/gw-{uuid.uuid4().hex[:8]}"
    gateway.client("kms").create_alias(AliasName=alias, TargetKeyId=key_arn)
    _, keys = _user(gateway, [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key_arn}])
    assert _client(gateway, "kms", keys).encrypt(KeyId=alias, Plaintext=b"x")["KeyId"] == key_arn


def test_a_key_policy_that_does_not_name_the_account_decides_alone(gateway: Server) -> None:
    named, named_keys = _user(
        gateway, [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]
    )
    other, other_keys = _user(gateway, [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}])
    statement = {"Effect": "Allow", "Principal": {"AWS": named}, "Action": "kms:Encrypt", "Resource": "*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    key = gateway.client("kms").create_key(Policy=policy)["KeyMetadata"]["Arn"]
    assert _client(gateway, "kms", named_keys).encrypt(KeyId=key, Plaintext=b"x")["KeyId"] == key
    with pytest.raises(ClientError) as refused:
        _client(gateway, "kms", other_keys).encrypt(KeyId=key, Plaintext=b"x")
    assert _refusal(refused.value)[1] == (
        f"User: {other} is not authorized to perform: kms:Encrypt on resource: {key} "
        "because no resource-based policy allows the kms:Encrypt action"
    )


def test_creating_a_key_is_decided_by_identity_policies(gateway: Server) -> None:
    arn, keys = _user(gateway, [{"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}])
    kms = _client(gateway, "kms", keys)
    assert isinstance(kms.list_keys()["Keys"], list)
    with pytest.raises(ClientError) as refused:
        kms.create_key()
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: kms:CreateKey on resource: * "
        "because no identity-based policy allows the kms:CreateKey action"
    )


def test_kms_encryption_context_conditions_are_enforced(gateway: Server, key_arn: str) -> None:
    condition = {"StringEquals": {"kms:EncryptionContext:app": "ledger"}}
    _, keys = _user(
        gateway, [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key_arn, "Condition": condition}]
    )
    kms = _client(gateway, "kms", keys)
    assert kms.encrypt(KeyId=key_arn, Plaintext=b"x", EncryptionContext={"app": "ledger"})["KeyId"]
    with pytest.raises(ClientError):
        kms.encrypt(KeyId=key_arn, Plaintext=b"x", EncryptionContext={"app": "other"})


def test_a_role_session_is_authorized_by_the_roles_policies(gateway: Server, table: str) -> None:
    iam, name = gateway.client("iam"), f"gw-role-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    scan_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": TABLE_ARN}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="scan", PolicyDocument=json.dumps(scan_only))
    _, keys = _user(gateway, [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}])
    creds = _client(gateway, "sts", keys).assume_role(RoleArn=role_arn, RoleSessionName="job")["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    dynamodb = _client(gateway, "dynamodb", session)
    assert dynamodb.scan(TableName=table)["Count"] >= 1
    with pytest.raises(ClientError) as refused:
        dynamodb.get_item(TableName=table, Key={"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}})
    assert _refusal(refused.value)[1].startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{name}/job is not authorized to perform: dynamodb:GetItem"
    )


def test_a_bad_signature_is_refused_in_the_services_protocol(gateway: Server, table: str) -> None:
    _, (key_id, _secret) = _user(gateway, [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}])
    with pytest.raises(ClientError) as refused:
        _client(gateway, "dynamodb", (key_id, "not-the-secret")).scan(TableName=table)
    code, _, status = _refusal(refused.value)
    assert (code, status) == ("InvalidSignatureException", 400)
    with pytest.raises(ClientError) as unknown:
        _client(gateway, "dynamodb", ("AKIANOSUCHKEY0000000", "x")).scan(TableName=table)
    assert _refusal(unknown.value)[0] == "UnrecognizedClientException"


def test_a_service_without_a_backend_is_left_to_the_iam_endpoints_refusal(gateway: Server) -> None:
    with pytest.raises(ClientError) as refused:
        gateway.client("kinesis").list_streams()
    code, message, status = _refusal(refused.value)
    assert (code, status) == ("InvalidAction", 400)
    assert "the request is for `kinesis`" in message


def test_iam_and_sts_are_still_served_here(gateway: Server) -> None:
    assert gateway.client("sts").get_caller_identity()["Account"] == ACCOUNT


def test_the_backend_answers_unchanged(gateway: Server, backend: str, table: str) -> None:
    direct = backend_client(backend, "dynamodb")
    through = gateway.client("dynamodb")
    strip = lambda r: {k: v for k, v in r.items() if k != "ResponseMetadata"}  # noqa: E731
    assert strip(through.describe_table(TableName=table)) == strip(direct.describe_table(TableName=table))


def _raw(gateway: Server, target: str, body: bytes, service: str = "dynamodb") -> tuple[int, dict[str, Any]]:
    """A request signed by botocore with the root's keys but built by hand: (status, JSON answer)."""
    request = AWSRequest(
        method="POST",
        url=gateway.endpoint + "/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(Credentials(gateway.access_key_id, gateway.secret_access_key), service, "us-east-1").add_auth(
        request
    )
    response = urllib3.request(
        "POST", request.url, body=body, headers=dict(request.headers.items()), retries=False
    )
    return response.status, json.loads(response.data)


def test_an_unknown_target_is_an_unknown_operation(gateway: Server) -> None:
    status, answer = _raw(gateway, "DynamoDB_20120810.DropEverything", b"{}")
    assert (status, answer["__type"]) == (400, "com.amazon.coral.service#UnknownOperationException")


def test_a_body_that_is_not_json_is_refused_before_the_backend(gateway: Server) -> None:
    status, answer = _raw(gateway, "DynamoDB_20120810.Scan", b"[1, 2]")
    assert (status, answer["__type"]) == (400, "com.amazon.coral.service#SerializationException")


def test_a_body_over_the_limit_is_refused_with_413(gateway: Server) -> None:
    status, answer = _raw(gateway, "DynamoDB_20120810.PutItem", b" " * (16 * 1024 * 1024 + 1))
    assert (status, answer["__type"]) == (413, "com.amazon.coral.service#RequestEntityTooLargeException")


def test_a_backend_that_does_not_answer_is_a_503_not_a_hang(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("ostiary-gateway-down")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"dynamodb={dead}"
    )
    try:
        with pytest.raises(ClientError) as refused:
            server.client("dynamodb").list_tables()
        code, message, status = _refusal(refused.value)
        assert (code, status) == ("ServiceUnavailableException", 503)
        assert "did not answer" in message
    finally:
        stop_server(server)


def test_a_malformed_backend_flag_stops_serve_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ostiary", "serve", "--data-dir", str(tmp_path), "--backend", "iam=http://x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "`iam` is served by Ostiary itself and takes no backend" in result.stderr


def test_a_permissions_boundary_limits_what_the_gateway_allows(gateway: Server, table: str) -> None:
    iam = gateway.client("iam")
    name = f"gw-boundary-{uuid.uuid4().hex[:8]}"
    read_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"}],
    }
    boundary = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(read_only))["Policy"]["Arn"]
    arn, keys = _user(gateway, [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}])
    iam.put_user_permissions_boundary(UserName=arn.rsplit("/", 1)[1], PermissionsBoundary=boundary)
    dynamodb = _client(gateway, "dynamodb", keys)
    assert dynamodb.scan(TableName=table)["Count"] >= 1
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={"Artist": {"S": "b"}, "Song": {"S": "b"}})
    assert _refusal(refused.value)[1] == (
        f"User: {arn} is not authorized to perform: dynamodb:PutItem on resource: {TABLE_ARN} "
        "because no permissions boundary allows the dynamodb:PutItem action"
    )


def test_a_session_policy_limits_a_role_session_at_the_gateway(gateway: Server, table: str) -> None:
    iam, name = gateway.client("iam"), f"gw-session-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(everything))
    _, keys = _user(gateway, [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}])
    scan_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"}],
    }
    creds = _client(gateway, "sts", keys).assume_role(
        RoleArn=role_arn, RoleSessionName="narrow", Policy=json.dumps(scan_only)
    )["Credentials"]
    dynamodb = _client(
        gateway, "dynamodb", (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    )
    assert dynamodb.scan(TableName=table)["Count"] >= 1
    with pytest.raises(ClientError) as refused:
        dynamodb.delete_item(TableName=table, Key={"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}})
    assert _refusal(refused.value)[1] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{name}/narrow is not authorized to perform: "
        f"dynamodb:DeleteItem on resource: {TABLE_ARN} "
        "because no session policy allows the dynamodb:DeleteItem action"
    )


def test_leading_keys_hold_on_a_table_the_moment_it_is_created(gateway: Server) -> None:
    """CreateTable asks nothing of the backend's key schema, so no "no such table" is kept to decide the
    first item calls with (where every key value, the sort key's too, would count as leading)."""
    name = f"fresh-{uuid.uuid4().hex[:8]}"
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"
    _, keys = _user(
        gateway,
        [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:CreateTable", "dynamodb:DescribeTable"],
                "Resource": arn,
            },
            {
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
                "Resource": arn,
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["alice"]}},
            },
        ],
    )
    dynamodb = _client(gateway, "dynamodb", keys)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "alice"}, "sk": {"S": "note-1"}})
    got = dynamodb.get_item(TableName=name, Key={"pk": {"S": "alice"}, "sk": {"S": "note-1"}})
    assert got["Item"]["sk"] == {"S": "note-1"}
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "bob"}, "sk": {"S": "note-1"}})


@pytest.mark.parametrize(
    "policy",
    [
        "not json",
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
        ),
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "kms:*"}]}
        ),
        json.dumps({"Statement": [{"Sid": "x" * 40_000}]}),
    ],
)
def test_a_malformed_key_policy_never_reaches_the_backend(gateway: Server, key_arn: str, policy: str) -> None:
    kms = gateway.client("kms")
    before = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    with pytest.raises(ClientError) as refused:
        kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy)
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
    assert kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"] == before
    with pytest.raises(ClientError) as created:
        kms.create_key(Policy=policy)
    assert created.value.response["Error"]["Code"] == "MalformedPolicyDocumentException"
