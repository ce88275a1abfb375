"""Secrets and customer data kept out of the trail: gateway calls through `ostiary serve --backend ...`
(moto's server behind, `--enforce soft` so that would-be refusals are logged too), then LookupEvents,
the server's log and every file of its data directory. A member whose model shape is sensitive is
recorded as `HIDDEN_DUE_TO_SECURITY_REASONS`, a blob is left out, and DynamoDB's item data is recorded
as CloudTrail records it: an item's attribute names, never values other than a key's."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend, records_by_name

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
SECRETS: list[str] = []  # every secret sent by this module's tests: none may be found at rest


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-trail-secrets")
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'ostiary.db'}",
        "sqlite",
        "--backend",
        f"*={backend}",
        "--enforce",
        "soft",
    )
    yield server
    stop_server(server)


def _secret(label: str) -> str:
    found = f"{label}-{uuid.uuid4().hex}"
    SECRETS.append(found)
    return found


def _user(gateway: Server) -> tuple[str, Any]:
    """A user with no policy (each gateway call is a refusal that soft mode logs and lets through)."""
    iam: Any = gateway.client("iam")
    name = f"sec-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, lambda service: gateway.client(service, key["AccessKeyId"], key["SecretAccessKey"])


def _call(call: Any, **kwargs: Any) -> None:
    """A call whose answer does not matter (moto may not serve it): its record does."""
    try:
        call(**kwargs)
    except ClientError:
        pass


def test_s3_customer_keys_are_hidden(gateway: Server) -> None:
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    gateway.client("s3").create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    name, client = _user(gateway)
    s3 = client("s3")
    key, source_key = (_secret(label)[:32].encode() for label in ("ssec", "ssecsrc"))
    SECRETS.extend(base64.b64encode(k).decode() for k in (key, source_key))
    _call(
        s3.put_object,
        Bucket=bucket,
        Key="a.txt",
        Body=b"x",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=key,
    )
    _call(s3.get_object, Bucket=bucket, Key="a.txt", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    _call(
        s3.copy_object,
        Bucket=bucket,
        Key="b.txt",
        CopySource={"Bucket": bucket, "Key": "a.txt"},
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=source_key,
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=key,
    )
    records = records_by_name(gateway, name)
    for event in ("PutObject", "GetObject", "CopyObject"):
        (record,) = records[event]
        assert record["requestParameters"]["sSECustomerKey"] == HIDDEN, event
        assert record["requestParameters"]["sSECustomerAlgorithm"] == "AES256"
        _assert_no_secret(record)
    assert records["CopyObject"][0]["requestParameters"]["copySourceSSECustomerKey"] == HIDDEN


def _table(gateway: Server) -> str:
    table = f"Sec{uuid.uuid4().hex[:10]}"
    gateway.client("dynamodb").create_table(  # type: ignore[attr-defined]
        TableName=table,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return table


def test_dynamodb_item_values_are_left_out_at_any_depth(gateway: Server) -> None:
    """CloudTrail's DynamoDB data events keep a key's values and an item's attribute names; an item's
    other values and expression attribute values are not recorded."""
    table = _table(gateway)
    name, client = _user(gateway)
    dynamodb = client("dynamodb")
    secret = {"S": _secret("ddb")}
    _call(dynamodb.put_item, TableName=table, Item={"k": {"S": "one"}, "card": secret})
    _call(
        dynamodb.batch_write_item,
        RequestItems={table: [{"PutRequest": {"Item": {"k": {"S": "two"}, "card": {"M": {"n": secret}}}}}]},
    )
    _call(
        dynamodb.transact_write_items,
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"k": {"S": "three"}, "card": {"L": [secret]}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"k": {"S": "one"}},
                    "UpdateExpression": "SET card = :c",
                    "ExpressionAttributeValues": {":c": secret},
                }
            },
        ],
    )
    _call(
        dynamodb.update_item,
        TableName=table,
        Key={"k": {"S": "one"}},
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "card"},
        ExpressionAttributeValues={":c": secret},
    )
    _call(
        dynamodb.update_item,
        TableName=table,
        Key={"k": {"S": "two"}},
        AttributeUpdates={"card": {"Value": secret, "Action": "PUT"}},
    )
    _call(
        dynamodb.scan,
        TableName=table,
        FilterExpression="card = :c",
        ExpressionAttributeValues={":c": secret},
    )
    _call(
        dynamodb.execute_statement, Statement=f'SELECT * FROM "{table}" WHERE card = ?', Parameters=[secret]
    )
    _call(
        dynamodb.execute_statement,
        Statement=f"INSERT INTO \"{table}\" VALUE {{'k': 'four', 'card': '{secret['S']}'}}",
    )
    records = records_by_name(gateway, name)
    for event in (
        "PutItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "UpdateItem",
        "Scan",
        "ExecuteStatement",
    ):
        for record in records[event]:
            _assert_no_secret(record)
    assert records["PutItem"][0]["requestParameters"]["item"] == ["k", "card"]
    (batch,) = records["BatchWriteItem"][0]["requestParameters"]["requestItems"][table]
    assert batch == {"putRequest": {"item": ["k", "card"]}}
    put, update = records["TransactWriteItems"][0]["requestParameters"]["transactItems"]
    assert put["put"]["item"] == ["k", "card"]
    assert update["update"]["key"] == {"k": "one"}  # (a key's values without their types)
    assert "expressionAttributeValues" not in update["update"]
    first, second = sorted(
        (r["requestParameters"] for r in records["UpdateItem"]), key=lambda p: str(p["key"])
    )
    assert first["key"] == {"k": "one"} and first["updateExpression"] == "SET #c = :c"
    assert first["expressionAttributeNames"] == {"#c": "card"} and "expressionAttributeValues" not in first
    assert second["attributeUpdates"] == {"card": {"action": "PUT"}}
    statements = sorted((r["requestParameters"] for r in records["ExecuteStatement"]), key=str)
    insert, select = statements  # (by their text: both may be recorded within one second)
    assert "parameters" not in select
    assert (
        insert["statement"] == f"INSERT INTO \"{table}\" VALUE {{'k': ***(Redacted), 'card': ***(Redacted)}}"
    )


def test_a_put_items_record_names_its_key_and_no_other_value(gateway: Server) -> None:
    """CloudTrail's PutItem data event records the item's key (`"key": {"Artist": "No One You Know",
    "SongTitle": "Scared of My Shadow"}`, its values without their types) beside the item's attribute
    names, and so does a TransactWriteItems' Put (DynamoDB's developer guide, "Understanding DynamoDB log
    file entries"); the item's other values are not recorded."""
    pair = f"Sec{uuid.uuid4().hex[:10]}"
    gateway.client("dynamodb").create_table(  # type: ignore[attr-defined]
        TableName=pair,
        KeySchema=[
            {"AttributeName": "Artist", "KeyType": "HASH"},
            {"AttributeName": "SongTitle", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "Artist", "AttributeType": "S"},
            {"AttributeName": "SongTitle", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    single = _table(gateway)
    name, client = _user(gateway)
    dynamodb = client("dynamodb")
    song = {"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Scared of My Shadow"}}
    _call(dynamodb.put_item, TableName=pair, Item={**song, "AlbumTitle": {"S": _secret("album")}})
    _call(dynamodb.put_item, TableName=single, Item={"card": {"S": _secret("card")}, "k": {"S": "solo"}})
    _call(
        dynamodb.transact_write_items,
        TransactItems=[{"Put": {"TableName": pair, "Item": {"Notes": {"S": _secret("notes")}, **song}}}],
    )
    records = records_by_name(gateway, name)
    by_table = {r["requestParameters"]["tableName"]: r["requestParameters"] for r in records["PutItem"]}
    assert by_table[pair]["key"] == {"Artist": "No One You Know", "SongTitle": "Scared of My Shadow"}
    assert by_table[pair]["item"] == ["Artist", "SongTitle", "AlbumTitle"]
    assert by_table[single]["key"] == {"k": "solo"} and by_table[single]["item"] == ["card", "k"]
    ((put,),) = [r["requestParameters"]["transactItems"] for r in records["TransactWriteItems"]]
    assert put["put"]["key"] == {"Artist": "No One You Know", "SongTitle": "Scared of My Shadow"}
    assert put["put"]["item"] == ["Notes", "Artist", "SongTitle"]
    for record in (*records["PutItem"], *records["TransactWriteItems"]):
        _assert_no_secret(record)


def test_kms_plaintexts_and_messages_are_left_out(gateway: Server) -> None:
    root: Any = gateway.client("kms")
    symmetric = root.create_key()["KeyMetadata"]["KeyId"]
    signing = root.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    mac = root.create_key(KeyUsage="GENERATE_VERIFY_MAC", KeySpec="HMAC_256")["KeyMetadata"]["KeyId"]
    name, client = _user(gateway)
    kms = client("kms")
    _call(
        kms.encrypt, KeyId=symmetric, Plaintext=_secret("plain").encode(), EncryptionContext={"purpose": "t"}
    )
    _call(kms.sign, KeyId=signing, Message=_secret("msg").encode(), SigningAlgorithm="RSASSA_PSS_SHA_256")
    _call(
        kms.verify,
        KeyId=signing,
        Message=_secret("vmsg").encode(),
        Signature=b"sig",
        SigningAlgorithm="RSASSA_PSS_SHA_256",
    )
    _call(kms.generate_mac, KeyId=mac, Message=_secret("mac").encode(), MacAlgorithm="HMAC_SHA_256")
    SECRETS.extend(base64.b64encode(s.encode()).decode() for s in SECRETS[-4:])
    _call(kms.generate_data_key, KeyId=symmetric, KeySpec="AES_256")
    blob = root.encrypt(KeyId=symmetric, Plaintext=b"x")["CiphertextBlob"]
    _call(kms.decrypt, CiphertextBlob=blob)
    records = records_by_name(gateway, name)
    for event in ("Encrypt", "Sign", "Verify", "GenerateMac"):
        (record,) = records[event]
        _assert_no_secret(record)
        assert {"plaintext", "message", "signature"}.isdisjoint(record["requestParameters"]), event
    for event in ("GenerateDataKey", "Decrypt"):  # a gateway call's answer is never recorded
        (record,) = records[event]
        assert record["responseElements"] is None and "errorCode" not in record, event
        assert "ciphertextBlob" not in (record["requestParameters"] or {})
    assert records["Encrypt"][0]["requestParameters"]["encryptionContext"] == {"purpose": "t"}
    assert records["Sign"][0]["requestParameters"]["signingAlgorithm"] == "RSASSA_PSS_SHA_256"


def test_secrets_of_services_behind_a_catch_all_backend_are_hidden(gateway: Server) -> None:
    name, client = _user(gateway)
    secrets, ssm = client("secretsmanager"), client("ssm")
    secret_name = f"sec-{uuid.uuid4().hex[:8]}"
    _call(secrets.create_secret, Name=secret_name, SecretString=_secret("string"))
    _call(secrets.put_secret_value, SecretId=secret_name, SecretString=_secret("again"))
    _call(secrets.put_secret_value, SecretId=secret_name, SecretBinary=_secret("binary").encode())
    SECRETS.append(base64.b64encode(SECRETS[-1].encode()).decode())
    _call(ssm.put_parameter, Name=f"/sec/{secret_name}", Value=_secret("ssm"), Type="SecureString")
    records = records_by_name(gateway, name)
    (create,) = records["CreateSecret"]
    assert (
        create["requestParameters"]["secretString"] == HIDDEN
        and create["requestParameters"]["name"] == secret_name
    )
    binary, string = sorted((r["requestParameters"] for r in records["PutSecretValue"]), key=len)
    assert string["secretString"] == HIDDEN and "secretBinary" not in binary
    (put,) = records["PutParameter"]
    assert put["requestParameters"]["value"] == HIDDEN and put["requestParameters"]["type"] == "SecureString"
    for record in (create, *records["PutSecretValue"], put):
        _assert_no_secret(record)


def _assert_no_secret(record: dict[str, Any]) -> None:
    text = json.dumps(record)
    for secret in SECRETS:
        assert secret not in text, record["eventName"]


def test_message_bodies_are_hidden_and_their_attributes_left_out(gateway: Server) -> None:
    """CloudTrail's SendMessage data event records `"messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"`;
    SNS's Publish (query protocol: flattened members) is recorded the same way."""
    sqs_root: Any = gateway.client("sqs")
    queue = sqs_root.create_queue(QueueName=f"sec-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    topic = gateway.client("sns").create_topic(Name=f"sec-{uuid.uuid4().hex[:8]}")["TopicArn"]  # type: ignore[attr-defined]
    name, client = _user(gateway)
    attributes = {"card": {"DataType": "String", "StringValue": _secret("attr")}}
    _call(
        client("sqs").send_message, QueueUrl=queue, MessageBody=_secret("body"), MessageAttributes=attributes
    )
    sns = client("sns")
    _call(sns.publish, TopicArn=topic, Message=_secret("note"), MessageAttributes=attributes)
    _call(
        sns.publish_batch,
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": "1", "Message": _secret("batch")}],
    )
    records = records_by_name(gateway, name)
    (sent,) = records["SendMessage"]
    assert (
        sent["requestParameters"]["messageBody"] == HIDDEN
        and "messageAttributes" not in sent["requestParameters"]
    )
    (published,) = records["Publish"]
    assert published["requestParameters"]["message"] == HIDDEN
    (batch,) = records["PublishBatch"]
    assert batch["requestParameters"]["publishBatchRequestEntries.member.1.Message"] == HIDDEN
    for record in (sent, published, batch):
        _assert_no_secret(record)


def _by_event(gateway: Server, event: str) -> list[dict[str, Any]]:
    page = gateway.client("cloudtrail").lookup_events(  # type: ignore[attr-defined]
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event}]
    )
    return [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]


def test_a_saml_providers_private_key_is_hidden(gateway: Server) -> None:
    """IAM's model marks AddPrivateKey sensitive, though no name on the fixed list is its."""
    from tests.integration.test_saml_providers import metadata

    iam: Any = gateway.client("iam")
    key = f"-----BEGIN PRIVATE KEY-----\n{_secret('samlkey')}\n-----END PRIVATE KEY-----"
    name = f"Sec{uuid.uuid4().hex[:10]}"
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata(), AddPrivateKey=key)[
        "SAMLProviderArn"
    ]
    (saml,) = [r for r in _by_event(gateway, "CreateSAMLProvider") if r["requestParameters"]["name"] == name]
    assert saml["requestParameters"]["addPrivateKey"] == HIDDEN
    assert saml["responseElements"]["sAMLProviderArn"] == arn
    _assert_no_secret(saml)


def test_a_bedrock_api_keys_secret_is_left_out_of_the_answer(gateway: Server) -> None:
    """IAM's model marks ServiceCredentialSecret sensitive, though no name on the fixed list is its."""
    iam: Any = gateway.client("iam")
    user = f"sec-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=user)
    cred = iam.create_service_specific_credential(UserName=user, ServiceName="bedrock.amazonaws.com")
    SECRETS.append(cred["ServiceSpecificCredential"]["ServiceCredentialSecret"])
    (created,) = [
        r
        for r in _by_event(gateway, "CreateServiceSpecificCredential")
        if r["requestParameters"]["userName"] == user
    ]
    answered = created["responseElements"]["serviceSpecificCredential"]
    assert "serviceCredentialSecret" not in answered and answered["serviceName"] == "bedrock.amazonaws.com"
    _assert_no_secret(created)


def test_a_presigned_query_calls_signature_and_session_token_are_not_recorded(gateway: Server) -> None:
    """A query-protocol call (SNS) signed in its URL with a session's credentials: its
    `X-Amz-Security-Token` and `X-Amz-Signature` are the request's credentials, not its parameters."""
    import urllib.request

    name, client = _user(gateway)
    session = client("sts").get_session_token()["Credentials"]
    SECRETS.append(session["SessionToken"])
    sns = gateway.client("sns", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    url = sns.generate_presigned_url("list_topics", HttpMethod="GET")  # type: ignore[attr-defined]
    signature = url.split("X-Amz-Signature=")[1].split("&")[0]
    SECRETS.append(signature)
    with urllib.request.urlopen(url) as answer:
        assert answer.status == 200
    (record,) = records_by_name(gateway, name)["ListTopics"]
    _assert_no_secret(record)
    assert record["requestParameters"] is None


def test_no_secret_is_at_rest_in_the_data_directory_or_the_log(gateway: Server) -> None:
    """Every secret the probes above send (sent again here: under xdist they may run in another
    worker), in no file the server wrote: its database, the trail's segments and file, its log (where
    soft mode logged each would-be refusal)."""
    probes = (
        test_s3_customer_keys_are_hidden,
        test_dynamodb_item_values_are_left_out_at_any_depth,
        test_a_put_items_record_names_its_key_and_no_other_value,
        test_kms_plaintexts_and_messages_are_left_out,
        test_secrets_of_services_behind_a_catch_all_backend_are_hidden,
        test_message_bodies_are_hidden_and_their_attributes_left_out,
        test_a_saml_providers_private_key_is_hidden,
        test_a_bedrock_api_keys_secret_is_left_out_of_the_answer,
        test_a_presigned_query_calls_signature_and_session_token_are_not_recorded,
    )
    for probe in probes:
        probe(gateway)
    assert len(SECRETS) > 20
    log = (gateway.data_dir / "server.log").read_text()
    assert "soft mode let a refused request through" in log
    for path in sorted(Path(gateway.data_dir).rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, (path.name, secret)
