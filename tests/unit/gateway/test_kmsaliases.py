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
