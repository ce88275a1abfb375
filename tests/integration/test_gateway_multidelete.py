"""S3's DeleteObjects through the gateway, decided object by object as S3 does: the keys the caller may
delete are deleted, each other key comes back as an `AccessDenied` error in a 200 answer (only the errors
in quiet mode), and a call whose every key is refused never reaches the backend. A document S3 could not
read (not XML, more than 1,000 keys) is still S3's MalformedXML.

A real `ostiary serve` whose gateway forwards S3 to moto's server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import pytest
import urllib3
from botocore import UNSIGNED
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.integration.gateway_helpers import records_by_name, refused
from tests.integration.test_gateway_ownership import Harness, harness_fixtures

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

DENIED = {"Code": "AccessDenied", "Message": "Access Denied"}


backend, harness = harness_fixtures(("sqlite",))


def _bucket(harness: Harness, *keys: str) -> str:
    """A new bucket of the default account holding `keys`."""
    name = f"multidelete-{uuid.uuid4().hex[:12]}"
    admin = harness.client("s3")
    admin.create_bucket(Bucket=name)
    for key in keys:
        admin.put_object(Bucket=name, Key=key, Body=b"x")
    return name


def _user(harness: Harness, bucket: str) -> tuple[str, dict[str, str]]:
    """A user allowed to delete `public/*` and explicitly denied `keep/*` (nothing else allowed)."""
    return harness.user(
        [
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"},
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/keep/*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/keep/*"},
        ]
    )


def _exists(harness: Harness, bucket: str, key: str, **version: str) -> bool:
    """Whether the bucket owner sees `key` (HeadObject)."""
    try:
        harness.client("s3").head_object(Bucket=bucket, Key=key, **version)
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True


def _objects(*keys: str) -> dict[str, Any]:
    return {"Objects": [{"Key": key} for key in keys]}


def _errors(answer: dict[str, Any]) -> list[dict[str, str]]:
    return sorted(answer.get("Errors", []), key=lambda e: e["Key"])


def test_each_key_is_decided_on_its_own(harness: Harness) -> None:
    bucket = _bucket(harness, "public/a", "keep/b", "other/c")
    name, keys = _user(harness, bucket)
    s3 = harness.client("s3", keys)
    seen = _answer_headers(s3)
    answer = s3.delete_objects(Bucket=bucket, Delete=_objects("public/a", "keep/b", "other/c"))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "x-amzn-requestid" in seen  # moto's answer, the refused keys merged into it
    assert [d["Key"] for d in answer["Deleted"]] == ["public/a"]
    assert _errors(answer) == [{"Key": "keep/b", **DENIED}, {"Key": "other/c", **DENIED}]
    assert not _exists(harness, bucket, "public/a")
    assert _exists(harness, bucket, "keep/b") and _exists(harness, bucket, "other/c")
    records = records_by_name(harness.server, name.rsplit("/", 1)[-1])["DeleteObjects"]
    assert len(records) == 1 and "errorCode" not in records[0]


def test_quiet_mode_answers_only_the_refused_keys(harness: Harness) -> None:
    bucket = _bucket(harness, "public/a", "keep/b", "other/c")
    _, keys = _user(harness, bucket)
    s3 = harness.client("s3", keys)
    delete = {**_objects("public/a", "keep/b", "other/c"), "Quiet": True}
    answer = s3.delete_objects(Bucket=bucket, Delete=delete)
    assert "Deleted" not in answer
    assert _errors(answer) == [{"Key": "keep/b", **DENIED}, {"Key": "other/c", **DENIED}]
    assert not _exists(harness, bucket, "public/a") and _exists(harness, bucket, "keep/b")


def test_a_call_whose_every_key_is_refused_never_reaches_the_backend(harness: Harness) -> None:
    bucket = _bucket(harness, "keep/b", "other/c")
    _, keys = _user(harness, bucket)
    s3 = harness.client("s3", keys)
    seen = _answer_headers(s3)
    answer = s3.delete_objects(Bucket=bucket, Delete=_objects("keep/b", "other/c", "keep/b"))
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and "Deleted" not in answer
    assert _errors(answer) == [{"Key": k, **DENIED} for k in ("keep/b", "keep/b", "other/c")]
    assert "x-amzn-requestid" not in seen  # moto's: the answer is the gateway's own
    assert _exists(harness, bucket, "keep/b") and _exists(harness, bucket, "other/c")
    missing = f"multidelete-{uuid.uuid4().hex[:12]}"
    code, _, status = refused(s3.delete_objects, Bucket=missing, Delete=_objects("keep/b"))
    assert (code, status) == ("NoSuchBucket", 404)


def test_a_version_named_by_its_id_needs_delete_object_version(harness: Harness) -> None:
    bucket = _bucket(harness)
    admin = harness.client("s3")
    admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = admin.put_object(Bucket=bucket, Key="o", Body=b"old")["VersionId"]
    admin.put_object(Bucket=bucket, Key="o", Body=b"new")
    _, keys = harness.user(
        [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObjectVersion", "Resource": "*"},
        ]
    )
    s3 = harness.client("s3", keys)
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "o", "VersionId": old}, {"Key": "o"}]}
    )
    assert _errors(answer) == [{"Key": "o", "VersionId": old, **DENIED}]
    assert [(d["Key"], d.get("DeleteMarker")) for d in answer["Deleted"]] == [("o", True)]
    assert admin.get_object(Bucket=bucket, Key="o", VersionId=old)["Body"].read() == b"old"


def test_an_unsigned_caller_deletes_what_the_bucket_policy_lets_anyone_delete(harness: Harness) -> None:
    bucket = _bucket(harness, "public/a", "keep/b")
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{bucket}/public/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    admin = harness.client("s3")
    admin.delete_public_access_block(Bucket=bucket)  # a public policy is S3's to refuse else
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    anonymous = harness.client("s3", signature_version=UNSIGNED)
    answer = anonymous.delete_objects(Bucket=bucket, Delete=_objects("public/a", "keep/b"))
    assert [d["Key"] for d in answer["Deleted"]] == ["public/a"]
    assert _errors(answer) == [{"Key": "keep/b", **DENIED}]
    assert not _exists(harness, bucket, "public/a") and _exists(harness, bucket, "keep/b")


def test_a_document_s3_cannot_read_is_malformed_xml_for_any_caller(harness: Harness) -> None:
    bucket = _bucket(harness, "public/a")
    _, keys = _user(harness, bucket)
    for body in (b"<Delete><Object><Key>public/a</Key>", b"<Delete></Delete>", b"<Delete><Object/></Delete>"):
        answer = _post_delete(harness, bucket, body, keys)
        assert answer.status == 400 and b"<Code>MalformedXML</Code>" in answer.data, (body, answer.data)
    s3 = harness.client("s3", keys)
    too_many = _objects(*[f"public/{i}" for i in range(1001)])
    code, _, status = refused(s3.delete_objects, Bucket=bucket, Delete={**too_many})
    assert (code, status) == ("MalformedXML", 400)
    assert _exists(harness, bucket, "public/a")


def test_a_rewritten_document_carries_its_own_digest(harness: Harness) -> None:
    bucket = _bucket(harness, "public/a", "keep/b")
    _, keys = _user(harness, bucket)
    body = (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>public/a</Key></Object>'
        b"<Object><Key>keep/b</Key></Object></Delete>"
    )
    digest = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - S3's Content-MD5
    answer = _post_delete(harness, bucket, body, keys, {"Content-MD5": digest})
    assert answer.status == 200, answer.data
    assert b"<Deleted><Key>public/a</Key>" in answer.data
    assert b"<Error><Key>keep/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>" in (
        answer.data
    )
    assert not _exists(harness, bucket, "public/a")


def _answer_headers(s3: Any) -> set[str]:
    """The header names of the client's DeleteObjects answers, as they arrive."""
    seen: set[str] = set()
    s3.meta.events.register(
        "after-call.s3.DeleteObjects",
        lambda http_response, **_: seen.update(k.lower() for k in http_response.headers),
    )
    return seen


def _post_delete(
    harness: Harness, bucket: str, body: bytes, keys: dict[str, str], headers: dict[str, str] | None = None
) -> urllib3.BaseHTTPResponse:
    """A DeleteObjects of `body` as it is, signed with `keys`."""
    url = f"{harness.server.endpoint}/{bucket}?delete"
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers or {}))
    credentials = Credentials(keys["AccessKeyId"], keys["SecretAccessKey"])
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return urllib3.request("POST", url, body=body, headers=dict(request.headers.items()), retries=False)


def test_refused_keys_spelled_with_xml_and_other_scripts_come_back_as_sent(harness: Harness) -> None:
    """A refused key holding what XML escapes, or not ASCII, is named in its `<Error>` as it was listed;
    a key allowed by its prefix but spelled to look like a denied one is decided as spelled."""
    odd = ["keep/a&b<c>\"d'", "keep/ключ ü", "other/%2e%2e/x", "public/../keep/y"]
    bucket = _bucket(harness, *odd)
    _, keys = _user(harness, bucket)
    answer = harness.client("s3", keys).delete_objects(Bucket=bucket, Delete=_objects(*odd))
    assert _errors(answer) == sorted(({"Key": key, **DENIED} for key in odd[:3]), key=lambda e: e["Key"])
    assert [d["Key"] for d in answer["Deleted"]] == ["public/../keep/y"]  # S3 keys are not paths
    assert all(_exists(harness, bucket, key) for key in odd[:3])
