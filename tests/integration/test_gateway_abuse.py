"""The gateway attacked as an attacker would: requests whose spelling the gateway could read differently
from the backend (hosts, paths, repeated headers and parameters, PartiQL, ARNs of another region), keys
a backend's defaults would give away, and load that could stall the server. Each refusal is AWS's.

One real `ostiary serve` (SQLite) in front of moto's server, driven by boto3 or by requests signed with
botocore's signers and sent byte for byte with http.client (no client normalizes their paths).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import ACCOUNT, ROOT_KEY, ROOT_SECRET, Server, start_server, stop_server
from tests.integration.gateway_helpers import backend_client, moto_backend, refused

pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")

REGION = "us-east-1"
Creds = dict[str, str]
ROOT: Creds = {"AccessKeyId": ROOT_KEY, "SecretAccessKey": ROOT_SECRET}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from moto_backend(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-abuse")
    services = ("s3", "dynamodb", "kms", "*")
    flags = [f"--backend={service}={backend}" for service in services]
    server = start_server(data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", *flags)
    yield server
    stop_server(server)


def _account(gateway: Server) -> Creds:
    """A new account's root credentials, with its `AccountId`."""
    out = subprocess.run(
        [sys.executable, "-m", "ostiary", "account", "create"],
        env=gateway.cli_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {k: str(v) for k, v in json.loads(out.stdout).items()}


@pytest.fixture(scope="module")
def victim(gateway: Server) -> Creds:
    return _account(gateway)


@pytest.fixture(scope="module")
def attacker(gateway: Server) -> Creds:
    return _account(gateway)


def _client(gateway: Server, service: str, creds: Creds = ROOT) -> Any:
    return gateway.client(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))


def _user(gateway: Server, statements: list[dict[str, Any]], root: Creds = ROOT) -> tuple[str, Creds]:
    """A new IAM user of `root`'s account allowed `statements`: (its ARN, its keys)."""
    iam = _client(gateway, "iam", root)
    name = f"abuse-{uuid.uuid4().hex[:8]}"
    arn = str(iam.create_user(UserName=name)["User"]["Arn"])
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def _signed(
    gateway: Server,
    method: str,
    target: str,
    creds: Creds,
    *,
    service: str = "s3",
    host: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    unsigned_payload: bool = False,
) -> list[tuple[str, str]]:
    """The headers botocore's signer gives a request for `target` (path and query, sent as they are)."""
    netloc = urlsplit(gateway.endpoint).netloc
    request = AWSRequest(
        method=method,
        url=gateway.endpoint + target,
        data=body,
        headers={"Host": host or netloc, **(headers or {})},
    )
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    if unsigned_payload:

        class _Unsigned(S3SigV4Auth):  # type: ignore[misc]  # botocore is untyped
            def payload(self, request: AWSRequest) -> str:
                return "UNSIGNED-PAYLOAD"

        signer = _Unsigned
        request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    signer(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), service, REGION).add_auth(request)
    return list(request.headers.items())


def _send(
    gateway: Server, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[int, bytes]:
    """Send a request byte for byte (its path not normalized, its headers repeated as given)."""
    connection = http.client.HTTPConnection(urlsplit(gateway.endpoint).netloc, timeout=60)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _bucket(gateway: Server, creds: Creds, name: str | None = None) -> str:
    name = name or f"abuse-{uuid.uuid4().hex[:12]}"
    _client(gateway, "s3", creds).create_bucket(Bucket=name)
    return name


def _table(gateway: Server, creds: Creds, name: str | None = None) -> str:
    name = name or f"abuse-{uuid.uuid4().hex[:10]}"
    _client(gateway, "dynamodb", creds).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _code(body: bytes) -> str:
    """The error code of an S3 XML or a JSON error body ('' for none)."""
    text = body.decode("utf-8", "replace")
    if text.startswith("{"):
        return str(json.loads(text).get("__type", "")).rsplit("#", 1)[-1]
    start = text.find("<Code>")
    return text[start + 6 : text.find("</Code>")] if start >= 0 else ""


# -- S3: the bucket a virtual host names is the bucket the backend is asked --------------------------


@pytest.fixture(scope="module")
def secret_bucket(gateway: Server, victim: Creds) -> str:
    """The victim's bucket, holding `secret`."""
    name = _bucket(gateway, victim)
    _client(gateway, "s3", victim).put_object(Bucket=name, Key="secret", Body=b"the victim's secret")
    return name


def _virtual_get(gateway: Server, creds: Creds, host_bucket: str, path: str) -> tuple[int, bytes]:
    host = f"{host_bucket}.localhost:{urlsplit(gateway.endpoint).port}"
    return _send(gateway, "GET", path, _signed(gateway, "GET", path, creds, host=host))


def test_a_virtual_host_bucket_whose_name_begins_the_path_reaches_only_itself(
    gateway: Server, victim: Creds, attacker: Creds, secret_bucket: str
) -> None:
    """`att.localhost` with `/attXYZ/secret`: the key `attXYZ/secret` of `att`, never `attXYZ`'s `secret`."""
    own = secret_bucket[:9]
    _bucket(gateway, attacker, own)
    status, body = _virtual_get(gateway, attacker, own, f"/{secret_bucket}/secret")
    assert (status, _code(body)) == (404, "NoSuchKey")
    assert f"<Key>{secret_bucket}/secret</Key>".encode() in body


def test_a_dotted_virtual_host_bucket_reaches_only_itself(
    gateway: Server, attacker: Creds, secret_bucket: str
) -> None:
    own = _bucket(gateway, attacker, f"own.{uuid.uuid4().hex[:8]}")
    status, body = _virtual_get(gateway, attacker, own, f"/{secret_bucket}/secret")
    assert (status, _code(body)) == (404, "NoSuchKey")
    assert f"<Key>{secret_bucket}/secret</Key>".encode() in body


def test_an_upper_case_virtual_host_reaches_only_its_own_bucket(
    gateway: Server, attacker: Creds, secret_bucket: str
) -> None:
    own = _bucket(gateway, attacker)
    status, body = _virtual_get(gateway, attacker, own.upper(), f"/{secret_bucket}/secret")
    assert (status, _code(body)) == (404, "NoSuchKey")
    _client(gateway, "s3", attacker).put_object(Bucket=own, Key=f"{secret_bucket}/secret", Body=b"own")
    assert _virtual_get(gateway, attacker, own.upper(), f"/{secret_bucket}/secret") == (200, b"own")


@pytest.mark.parametrize(
    "path",
    [
        "/{own}/../{theirs}/secret",
        "/{own}/..%2F{theirs}%2Fsecret",
        "/{own}//../{theirs}/secret",
        "/{own}/./../{theirs}/secret",
        "/{own}/x/../../{theirs}/secret",
        "/{own}/%252e%252e/{theirs}/secret",
    ],
)
def test_dot_segments_and_encoded_slashes_stay_in_the_key_of_the_bucket_decided(
    gateway: Server, attacker: Creds, secret_bucket: str, path: str
) -> None:
    own = _bucket(gateway, attacker)
    target = path.format(own=own, theirs=secret_bucket)
    status, body = _send(gateway, "GET", target, _signed(gateway, "GET", target, attacker))
    assert (status, _code(body)) == (404, "NoSuchKey")


@pytest.mark.parametrize("path", ["/./{theirs}/secret", "/{own}%2F..%2F{theirs}/secret", "//{theirs}/secret"])
def test_a_path_whose_first_segment_is_no_bucket_reaches_no_bucket(
    gateway: Server, attacker: Creds, secret_bucket: str, path: str
) -> None:
    target = path.format(own=_bucket(gateway, attacker), theirs=secret_bucket)
    status, body = _send(gateway, "GET", target, _signed(gateway, "GET", target, attacker))
    assert status in (403, 404, 405)
    assert b"the victim's secret" not in body


@pytest.mark.parametrize(
    "source",
    [
        "{theirs}/secret",
        "/{theirs}/secret",
        "{theirs}%2Fsecret",
        "%2F{theirs}/secret",
        "//{theirs}/secret",
        "{own}/../{theirs}/secret",
        "{own}%2F..%2F{theirs}%2Fsecret",
        "arn:aws:s3:::{theirs}/secret",
        "{own}/x?versionId=1&/{theirs}/secret",
    ],
)
def test_no_spelling_of_a_copy_source_copies_another_accounts_object(
    gateway: Server, attacker: Creds, secret_bucket: str, source: str
) -> None:
    own = _bucket(gateway, attacker)
    target = f"/{own}/copy"
    copy_source = {"x-amz-copy-source": source.format(own=own, theirs=secret_bucket)}
    status, body = _send(
        gateway, "PUT", target, _signed(gateway, "PUT", target, attacker, headers=copy_source)
    )
    assert status in (403, 404) and _code(body) in (
        "AccessDenied",
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchVersion",
    )
    assert refused(_client(gateway, "s3", attacker).get_object, Bucket=own, Key="copy")[0] == "NoSuchKey"


@pytest.mark.parametrize(
    "spelling", ["arn:aws:s3:::{theirs}/secret", "/arn%3Aaws%3As3%3A%3A%3A{theirs}/secret"]
)
def test_a_copy_source_named_by_an_arn_is_not_served_even_to_the_default_accounts_root(
    gateway: Server, secret_bucket: str, spelling: str
) -> None:
    own = _bucket(gateway, ROOT)
    target = f"/{own}/copy-of-arn"
    copy_source = {"x-amz-copy-source": spelling.format(theirs=secret_bucket)}
    status, body = _send(gateway, "PUT", target, _signed(gateway, "PUT", target, ROOT, headers=copy_source))
    assert (status, _code(body)) == (501, "NotImplemented")
    assert b"access points" in body
    assert refused(_client(gateway, "s3").get_object, Bucket=own, Key="copy-of-arn")[0] == "NoSuchKey"


# -- repeated query parameters and headers: the backend reads what was decided ------------------------


def test_a_repeated_query_parameter_cannot_escape_a_prefix_condition(gateway: Server) -> None:
    bucket = _bucket(gateway, ROOT)
    for key in ("home/alice/a", "secret/x"):
        _client(gateway, "s3").put_object(Bucket=bucket, Key=key, Body=b"1")
    condition = {"StringLike": {"s3:prefix": "home/alice/*"}}
    statement = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}
    _, alice = _user(gateway, [{**statement, "Condition": condition}])
    target = f"/{bucket}?list-type=2&prefix=secret%2F&prefix=home%2Falice%2F"
    status, body = _send(gateway, "GET", target, _signed(gateway, "GET", target, alice))
    assert status == 200
    assert b"<Key>home/alice/a</Key>" in body and b"secret/x" not in body
    reversed_target = f"/{bucket}?list-type=2&prefix=home%2Falice%2F&prefix=secret%2F"
    status, body = _send(gateway, "GET", reversed_target, _signed(gateway, "GET", reversed_target, alice))
    assert (status, _code(body)) == (403, "AccessDenied")


def _json_call(
    gateway: Server, service: str, targets: list[str], params: dict[str, Any], creds: Creds
) -> tuple[int, bytes]:
    """A JSON call with one `X-Amz-Target` header per target (unsigned: the signature is over the rest)."""
    body = json.dumps(params).encode()
    version = "1.0" if service == "dynamodb" else "1.1"
    headers = {"Content-Type": f"application/x-amz-json-{version}"}
    signed = _signed(gateway, "POST", "/", creds, service=service, headers=headers, body=body)
    return _send(gateway, "POST", "/", signed + [("X-Amz-Target", t) for t in targets], body)


def test_a_repeated_x_amz_target_runs_only_the_kms_operation_decided(gateway: Server, backend: str) -> None:
    key = _client(gateway, "kms").create_key()["KeyMetadata"]["KeyId"]
    _, reader = _user(gateway, [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}])
    targets = ["TrentService.DescribeKey", "TrentService.ScheduleKeyDeletion"]
    status, body = _json_call(gateway, "kms", targets, {"KeyId": key, "PendingWindowInDays": 7}, reader)
    assert status == 200 and json.loads(body)["KeyMetadata"]["KeyId"] == key
    described = backend_client(backend, "kms").describe_key(KeyId=key)["KeyMetadata"]
    assert described["KeyState"] == "Enabled"


def test_a_repeated_x_amz_target_runs_only_the_dynamodb_operation_decided(
    gateway: Server, backend: str
) -> None:
    table = _table(gateway, ROOT)
    _, reader = _user(gateway, [{"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": "*"}])
    for second in ("DynamoDB_20120810.DeleteTable", "x.DeleteTable"):
        targets = ["DynamoDB_20120810.DescribeTable", second]
        status, body = _json_call(gateway, "dynamodb", targets, {"TableName": table}, reader)
        assert status == 200 and json.loads(body)["Table"]["TableName"] == table
    assert backend_client(backend, "dynamodb").describe_table(TableName=table)["Table"]["TableName"] == table


def test_duplicated_json_keys_are_refused_in_either_order(
    gateway: Server, victim: Creds, attacker: Creds
) -> None:
    """Which of two `TableName` members a backend reads is its parser's choice (moto's the last, another's
    may be the first): the gateway refuses the body rather than decide on one it might not forward."""
    theirs = _table(gateway, victim)
    mine = _table(gateway, attacker)
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Scan"}
    for first, last in ((theirs, mine), (mine, theirs)):
        body = f'{{"TableName": "{first}", "TableName": "{last}"}}'.encode()
        signed = _signed(gateway, "POST", "/", attacker, service="dynamodb", headers=headers, body=body)
        status, answer = _send(gateway, "POST", "/", signed, body)
        assert (status, _code(answer)) == (400, "SerializationException")


def test_a_query_parameter_in_both_the_url_and_the_form_body_is_refused(gateway: Server) -> None:
    """moto reads a form body's parameters alone: `?Action=ListTopics` with `Action=CreateTopic` in the
    body would be decided as ListTopics and run as CreateTopic."""
    _, lister = _user(gateway, [{"Effect": "Allow", "Action": "sns:ListTopics", "Resource": "*"}])
    topic = f"abuse-{uuid.uuid4().hex[:8]}"
    target = "/?Action=ListTopics&Version=2010-03-31"
    body = f"Action=CreateTopic&Name={topic}&Version=2010-03-31".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    signed = _signed(gateway, "POST", target, lister, service="sns", headers=headers, body=body)
    status, _ = _send(gateway, "POST", target, signed, body)
    assert status == 400
    topics = _client(gateway, "sns").list_topics()["Topics"]
    assert not any(t["TopicArn"].endswith(f":{topic}") for t in topics)


# -- KMS: keys and ARNs ---------------------------------------------------------------------------


def test_a_key_another_account_made_is_not_the_backend_accounts(
    gateway: Server, victim: Creds, backend: str
) -> None:
    """moto gives a key made without a policy its own default policy, naming its account: Ostiary's
    default account, here. The gateway gives it its owner's instead."""
    kms = _client(gateway, "kms", victim)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    owner_root = f"arn:aws:iam::{victim['AccountId']}:root"
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": owner_root}
    for call, params in (
        (_client(gateway, "kms").describe_key, {"KeyId": key}),
        (_client(gateway, "kms").encrypt, {"KeyId": key, "Plaintext": b"x"}),
    ):
        assert refused(call, **params)[0] == "AccessDeniedException"
    _, user = _user(gateway, [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])
    assert refused(_client(gateway, "kms", user).encrypt, KeyId=key, Plaintext=b"x")[0] == (
        "AccessDeniedException"
    )
    assert kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]


def test_a_key_made_on_the_backend_with_its_default_policy_is_decided_with_its_owners(
    gateway: Server, victim: Creds, backend: str
) -> None:
    """A key made before the gateway named the owner in a new key's policy has the backend's default
    policy: it is decided as its owner's default, never as a grant to the backend's account."""
    key = _client(gateway, "kms", victim).create_key()["KeyMetadata"]["KeyId"]
    backend_root = f"arn:aws:iam::{ACCOUNT}:root"
    statement = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": backend_root},
        "Action": "kms:*",
        "Resource": "*",
    }
    policy = {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [statement]}
    backend_client(backend, "kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    assert refused(_client(gateway, "kms").encrypt, KeyId=key, Plaintext=b"x")[0] == "AccessDeniedException"
    assert _client(gateway, "kms", victim).encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]


def test_a_key_arn_of_another_region_is_refused_as_kms_refuses_it(gateway: Server, victim: Creds) -> None:
    key = _client(gateway, "kms", victim).create_key()["KeyMetadata"]["KeyId"]
    for region in ("eu-west-1", ""):
        arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{key}"
        assert refused(_client(gateway, "kms").encrypt, KeyId=arn, Plaintext=b"x") == (
            "NotFoundException",
            f"Invalid arn {region}",
            400,
        )


def test_a_table_arn_of_another_region_is_refused_as_dynamodb_refuses_it(
    gateway: Server, victim: Creds
) -> None:
    table = _table(gateway, victim)
    arn = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/{table}"
    message = f"1 validation error detected: Invalid AWS region in '{arn}'"
    dynamodb = _client(gateway, "dynamodb")
    assert refused(dynamodb.scan, TableName=arn) == ("ValidationException", message, 400)
    assert refused(dynamodb.batch_get_item, RequestItems={arn: {"Keys": [{"pk": {"S": "a"}}]}})[:2] == (
        "ValidationException",
        message,
    )
    statement = f'SELECT * FROM "{arn}"'
    assert refused(dynamodb.execute_statement, Statement=statement)[:2] == ("ValidationException", message)


def test_another_accounts_alias_cannot_be_pointed_at_the_attackers_key(
    gateway: Server, victim: Creds, attacker: Creds
) -> None:
    theirs = _client(gateway, "kms", victim)
    key = theirs.create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/abuse-{uuid.uuid4().hex[:8]}"
    theirs.create_alias(AliasName=alias, TargetKeyId=key)
    mine = _client(gateway, "kms", attacker)
    own_key = mine.create_key()["KeyMetadata"]["KeyId"]
    # The name is the attacker's own alias (none): each account has its own alias namespace.
    assert refused(mine.update_alias, AliasName=alias, TargetKeyId=own_key)[0] == "NotFoundException"
    assert refused(mine.delete_alias, AliasName=alias)[0] == "NotFoundException"
    assert theirs.encrypt(KeyId=alias, Plaintext=b"x")["KeyId"].endswith(f"key/{key}")


# -- DynamoDB: PartiQL --------------------------------------------------------------------------------


def test_a_string_literal_cannot_hide_the_table_a_partiql_statement_reads(
    gateway: Server, victim: Creds, attacker: Creds
) -> None:
    theirs = _table(gateway, victim)
    _client(gateway, "dynamodb", victim).put_item(TableName=theirs, Item={"pk": {"S": "secret"}})
    mine = _table(gateway, attacker)
    dynamodb = _client(gateway, "dynamodb", attacker)
    for statement in (
        f"SELECT pk, 'FROM {mine}' FROM \"{theirs}\"",
        f"SELECT * FROM \"{theirs}\" WHERE pk <> 'x FROM {mine}'",
    ):
        code, message, _ = refused(dynamodb.execute_statement, Statement=statement)
        assert code == "AccessDeniedException" and f":table/{theirs} " in message


@pytest.mark.parametrize(
    "statement",
    [
        'SELECT * FROM "{mine}" UNION SELECT * FROM "{theirs}"',
        "SELECT * FROM {mine}, {theirs}",
        'SELECT * FROM "{theirs}" --FROM {mine}',
        '/* c */ SELECT * FROM "{theirs}"',
        'SELECT*FROM "{theirs}"',
        "SELECT * FROM\"{theirs}\" WHERE a = 'x FROM {mine}'",
        'SELECT "FROM {mine}" FROM "{theirs}"',
    ],
)
def test_a_statement_whose_one_table_cannot_be_read_is_refused_before_the_backend(
    gateway: Server, victim: Creds, statement: str
) -> None:
    """Decided on "*", a root (or a user allowed PartiQL on "*") would have been let through."""
    theirs = _table(gateway, victim)
    mine = _table(gateway, ROOT)
    text = statement.format(mine=mine, theirs=theirs)
    code, message, status = refused(_client(gateway, "dynamodb").execute_statement, Statement=text)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("Statement wasn't well formed, can't be processed: ")


# -- presigned URLs ------------------------------------------------------------------------------


def test_a_presigned_url_is_for_its_own_key_method_and_time(gateway: Server) -> None:
    bucket = _bucket(gateway, ROOT)
    s3: Any = gateway.client("s3", signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="public", Body=b"p")
    s3.put_object(Bucket=bucket, Key="private", Body=b"q")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "public"}, ExpiresIn=60)
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    host = [("Host", parts.netloc)]
    assert _send(gateway, "GET", target, host) == (200, b"p")
    for tampered in (
        target.replace("/public?", "/private?"),
        target.replace("X-Amz-Expires=60", "X-Amz-Expires=604800"),
        target + "&versionId=x",
    ):
        status, body = _send(gateway, "GET", tampered, host)
        assert (status, _code(body)) == (403, "SignatureDoesNotMatch")
    status, body = _send(gateway, "DELETE", target, host)
    assert (status, _code(body)) == (403, "SignatureDoesNotMatch")
    week_and_a_second = AWSRequest(method="GET", url=f"{gateway.endpoint}/{bucket}/public")
    S3SigV4QueryAuth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", REGION, expires=604801).add_auth(
        week_and_a_second
    )
    parts = urlsplit(week_and_a_second.url)
    status, body = _send(gateway, "GET", f"{parts.path}?{parts.query}", host)
    assert status in (400, 403) and body != b"p"


@pytest.mark.parametrize(
    ("framing", "body"),
    [
        ([("Content-Length", "3"), ("Content-Length", "5")], b"abcde"),
        ([("Content-Length", "3"), ("Transfer-Encoding", "chunked")], b"3\r\nabc\r\n0\r\n\r\n"),
        ([("Content-Length", "-1")], b""),
        ([("Content-Length", "99999999999999999999")], b"x"),
    ],
)
def test_a_body_framed_two_ways_is_refused_before_anything_reads_it(
    gateway: Server, framing: list[tuple[str, str]], body: bytes
) -> None:
    bucket = _bucket(gateway, ROOT)
    target = f"/{bucket}/framed"
    signed = _signed(gateway, "PUT", target, ROOT, unsigned_payload=True)
    netloc = urlsplit(gateway.endpoint)
    with socket.create_connection((netloc.hostname, netloc.port), timeout=30) as sock:
        head = f"PUT {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in signed + framing)
        sock.sendall(head.encode() + b"\r\n" + body)
        assert sock.recv(64).startswith(b"HTTP/1.1 400 ")
    assert refused(_client(gateway, "s3").head_object, Bucket=bucket, Key="framed")[2] == 404


# -- load: many uploads at once leave the server answering ---------------------------------------


def test_many_slow_uploads_at_once_leave_iam_and_the_gateway_answering(gateway: Server) -> None:
    """Each upload over 64 KiB takes one of the gateway's 64 threads, which keeps its SQLite
    connections: a bounded pool ran dry, and every other thread (IAM's too) then failed for good."""
    buckets = [_bucket(gateway, ROOT) for _ in range(70)]
    time.sleep(1.5)  # their owners are read again (kept a second): each thread then reads the store
    size = 100 * 1024
    netloc = urlsplit(gateway.endpoint)
    sockets = []
    try:
        for bucket in buckets:
            target = f"/{bucket}/slow"
            headers = {"Content-Length": str(size)}
            signed = _signed(gateway, "PUT", target, ROOT, headers=headers, unsigned_payload=True)
            sock = socket.create_connection((netloc.hostname, netloc.port))
            head = f"PUT {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in signed) + "\r\n"
            sock.sendall(head.encode() + b"x" * 1024)  # the rest of the body comes later
            sockets.append(sock)
        time.sleep(2)  # every thread is now waiting for its body

        def finish(sock: socket.socket) -> bytes:
            sock.sendall(b"x" * (size - 1024))
            sock.settimeout(60)
            return sock.recv(64)

        with ThreadPoolExecutor(16) as pool:
            statuses = [answer[9:12] for answer in pool.map(finish, sockets)]  # b"" when cut off
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [b"200"] * 70
    started = time.monotonic()
    assert _client(gateway, "iam").list_users()["Users"] is not None
    _client(gateway, "s3").put_object(Bucket=buckets[0], Key="after", Body=b"y" * size)
    assert time.monotonic() - started < 10


# -- the trail ----------------------------------------------------------------------------------


def test_lookup_events_shows_an_account_its_own_events_whatever_its_callers_sent(
    gateway: Server, victim: Creds, attacker: Creds
) -> None:
    bucket = _bucket(gateway, victim)
    key = 'odd "key"\t\x01\u2603/</Key>{"x":1}'  # moto refuses a newline in a key
    agent = 'ua "quoted" \\ {"eventName":"x"}'
    s3 = _client(gateway, "s3", victim)

    def user_agent(request: AWSRequest, **_: Any) -> None:
        request.headers["User-Agent"] = agent

    s3.meta.events.register_first("before-sign.s3.PutObject", user_agent)
    s3.put_object(Bucket=bucket, Key=key, Body=b"v")
    by_object = [{"AttributeKey": "ResourceName", "AttributeValue": f"arn:aws:s3:::{bucket}/{key}"}]
    (event,) = _client(gateway, "cloudtrail", victim).lookup_events(LookupAttributes=by_object)["Events"]
    record = json.loads(event["CloudTrailEvent"])
    assert record["eventName"] == "PutObject" and record["requestParameters"]["key"] == key
    assert record["userAgent"] == agent and record["recipientAccountId"] == victim["AccountId"]
    attackers = _client(gateway, "cloudtrail", attacker)
    by_bucket = [{"AttributeKey": "ResourceName", "AttributeValue": f"arn:aws:s3:::{bucket}"}]
    assert attackers.lookup_events(LookupAttributes=by_object)["Events"] == []
    assert attackers.lookup_events(LookupAttributes=by_bucket)["Events"] == []
    everything = attackers.lookup_events(MaxResults=50)["Events"]
    assert all(
        json.loads(e["CloudTrailEvent"])["recipientAccountId"] == attacker["AccountId"] for e in everything
    )
    assert not any(e["EventName"] == "PutObject" and bucket in e["CloudTrailEvent"] for e in everything)
