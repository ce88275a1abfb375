"""The gateway's per-account alias names: what the backend gets, and what the client gets back."""

from __future__ import annotations

import json

from ostiary.gateway import kmsaliases
from ostiary.gateway.operations import Operation

A, B = "111122223333", "444455556666"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k-a"


def _resolve(account: str, alias: str) -> str | None:
    return KEY_ARN if (account, alias) == (A, "alias/x") else None


def test_a_name_is_the_callers_and_an_arn_names_its_account() -> None:
    params = {"KeyId": f"arn:aws:kms:us-east-1:{B}:alias/x", "DestinationKeyId": "alias/y/z"}
    body = kmsaliases.backend_body(Operation("kms", "ReEncrypt", params), A, json.dumps(params).encode())
    assert json.loads(body or b"") == {"KeyId": f"alias/{B}/x", "DestinationKeyId": f"alias/{A}/y/z"}


def test_aws_managed_aliases_and_keys_stay_as_they_are() -> None:
    params = {"KeyId": "alias/aws/s3", "SourceKeyId": "1234abcd"}
    assert kmsaliases.backend_body(Operation("kms", "ReEncrypt", params), A, b"{}") is None


def test_an_error_names_the_owners_alias_in_the_owners_account() -> None:
    text = f"An alias with the name arn:aws:kms:us-east-1:123456789012:alias/{A}/{B}/x already exists"
    assert (
        kmsaliases.client_text(text)
        == f"An alias with the name arn:aws:kms:us-east-1:{A}:alias/{B}/x already exists"
    )
    assert kmsaliases.client_text(f"Value 'alias/{A}/x' at 'aliasName'") == "Value 'alias/x' at 'aliasName'"


def test_list_aliases_keeps_the_callers_own_and_aws_managed_ones() -> None:
    backend = {
        "Aliases": [
            {
                "AliasName": f"alias/{A}/x",
                "AliasArn": f"arn:aws:kms:us-east-1:123456789012:alias/{A}/x",
                "TargetKeyId": "k-a",
            },
            {
                "AliasName": f"alias/{B}/x",
                "AliasArn": f"arn:aws:kms:us-east-1:123456789012:alias/{B}/x",
                "TargetKeyId": "k-b",
            },
            {
                "AliasName": "alias/aws/s3",
                "AliasArn": "arn:aws:kms:us-east-1:123456789012:alias/aws/s3",
                "TargetKeyId": "k-d",
            },
            {"AliasName": "alias/legacy", "AliasArn": "arn:aws:kms:us-east-1:123456789012:alias/legacy"},
        ],
        "Truncated": False,
    }
    seen = json.loads(kmsaliases.listed(json.dumps(backend).encode(), A, "us-east-1", lambda ids: set()))
    assert seen["Aliases"] == [
        {"AliasName": "alias/x", "AliasArn": f"arn:aws:kms:us-east-1:{A}:alias/x", "TargetKeyId": "k-a"},
        {"AliasName": "alias/aws/s3", "AliasArn": f"arn:aws:kms:us-east-1:{A}:alias/aws/s3"},
    ]
    assert json.loads(kmsaliases.listed(b"not json", A, "us-east-1", lambda ids: set()))["Aliases"] == []


def test_an_export_naming_an_alias_names_the_callers_aliass_key() -> None:
    params = {"TableArn": "t", "S3Bucket": "b", "S3SseAlgorithm": "KMS", "S3SseKmsKeyId": "alias/x"}
    operation = Operation("dynamodb", "ExportTableToPointInTime", params)
    body = kmsaliases.service_body(operation, A, "us-east-1", json.dumps(params).encode(), _resolve)
    assert json.loads(body or b"")["S3SseKmsKeyId"] == KEY_ARN
    found = kmsaliases.service_body(operation, B, "us-east-1", json.dumps(params).encode(), _resolve)
    assert json.loads(found or b"")["S3SseKmsKeyId"] == f"arn:aws:kms:us-east-1:{B}:alias/x"


def test_an_upload_naming_an_alias_names_the_callers_aliass_key() -> None:
    headers = [("x-amz-server-side-encryption-aws-kms-key-id", "alias/x"), ("x-amz-meta-k", "alias/x")]
    assert kmsaliases.service_headers(headers, A, "us-east-1", _resolve) == [
        ("x-amz-server-side-encryption-aws-kms-key-id", KEY_ARN),
        ("x-amz-meta-k", "alias/x"),
    ]


def _encryption(key_id: str) -> bytes:
    return (
        "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
        f"<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>{key_id}</KMSMasterKeyID>"
        "</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"
    ).encode()


def test_a_bucket_default_alias_is_the_backends_and_shown_back_as_given() -> None:
    operation = Operation("s3", "PutBucketEncryption", {"Bucket": "b"})
    arn = f"arn:aws:kms:us-east-1:{B}:alias/x"
    for given, kept in (("alias/x", f"alias/{A}/x"), (arn, f"arn:aws:kms:us-east-1:{B}:alias/{B}/x")):
        body = kmsaliases.bucket_encryption_body(operation, A, "us-east-1", _encryption(given))
        assert body == _encryption(kept)
        assert kmsaliases.client_text(body.decode()).encode() == _encryption(given)
    for unchanged in ("alias/aws/s3", KEY_ARN, "1234abcd"):
        assert kmsaliases.bucket_encryption_body(operation, A, "us-east-1", _encryption(unchanged)) is None


def test_a_key_the_backend_names_by_a_backend_alias_is_its_owners_alias() -> None:
    owners = f"arn:aws:kms:us-east-1:{A}:alias/x"
    assert kmsaliases.from_backend(f"alias/{A}/x", "us-east-1") == owners
    assert kmsaliases.from_backend(f"arn:aws:kms:us-east-1:{A}:alias/{A}/x", "eu-west-1") == owners
    # What `key_for_service` names a missing alias `alias/B/x` of A by is A's alias, never B's.
    missing = f"arn:aws:kms:us-east-1:{A}:alias/{B}/x"
    assert kmsaliases.from_backend(missing, "us-east-1") == missing
    for other in (KEY_ARN, "alias/x", "alias/aws/s3", None):
        assert kmsaliases.from_backend(other, "us-east-1") == other
