"""A multipart upload's key: kept from CreateMultipartUpload's answer, decided on UploadPart,
UploadPartCopy and a CompleteMultipartUpload with checksums, forgotten when the upload ends.

AWS (CreateMultipartUpload, UploadPart, UploadPartCopy, "Permissions"): "The requester must also have
permissions for the kms:GenerateDataKey action for the CreateMultipartUpload API. Then, the requester
needs permissions for the kms:Decrypt action on the UploadPart and UploadPartCopy APIs."
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ostiary.gateway import multipart, s3
from ostiary.gateway.operations import Operation
from ostiary.gateway.permissions import Facts, permissions_of
from ostiary.store import uploads
from ostiary.store.db import Database

ACCOUNT = "123456789012"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}"
NOW = datetime(2026, 12, 4, tzinfo=UTC)
CREATED = b"""<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Bucket>b</Bucket><Key>big.bin</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>"""
KMS_ANSWER = {
    "x-amz-server-side-encryption": "aws:kms",
    "x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN,
}


def _facts(**kwargs: Any) -> Facts:
    return Facts(account=ACCOUNT, region="us-east-1", caller_account=ACCOUNT, **kwargs)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")
    database.migrate()
    yield database
    database.dispose()


def _create(**params: Any) -> Operation:
    return Operation("s3", "CreateMultipartUpload", {"Bucket": "b", "Key": "big.bin", **params})


def test_creating_an_upload_needs_generate_data_key_only() -> None:
    params = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KEY_ARN}
    found = permissions_of(_create(**params), _facts())
    assert [(p.action, p.resource) for p in found if p.action.startswith("kms:")] == [
        ("kms:GenerateDataKey", KEY_ARN)
    ]


@pytest.mark.parametrize(
    ("params", "headers", "default", "expected"),
    [
        ({}, KMS_ANSWER, None, ("aws:kms", KEY_ARN, False)),  # the answer says it
        ({"ServerSideEncryption": "aws:kms"}, {}, None, ("aws:kms", None, False)),  # S3's managed key
        ({}, {}, ("aws:kms", KEY), ("aws:kms", KEY, False)),  # the bucket's default, unsaid by the answer
        ({"ServerSideEncryption": "AES256"}, {"x-amz-server-side-encryption": "AES256"}, None, None),
        ({}, {}, None, None),
        (
            {},
            {**KMS_ANSWER, "x-amz-server-side-encryption-bucket-key-enabled": "true"},
            None,
            ("aws:kms", KEY_ARN, True),
        ),
    ],
)
def test_an_uploads_encryption_is_what_creates_answer_says_else_what_was_asked(
    params: dict[str, Any],
    headers: dict[str, str],
    default: tuple[str, str | None] | None,
    expected: tuple[str, str | None, bool] | None,
) -> None:
    facts = _facts(bucket_encryption=lambda bucket: default)
    assert s3.created_upload(_create(**params), headers, facts) == expected


@pytest.mark.parametrize("operation", ["UploadPart", "UploadPartCopy"])
@pytest.mark.parametrize("bucket_key", [False, True])
def test_a_part_of_an_sse_kms_upload_needs_decrypt_via_s3_on_its_key(
    operation: str, bucket_key: bool
) -> None:
    asked: list[tuple[str, str]] = []

    def upload_encryption(bucket: str, upload_id: str) -> tuple[str, str | None, bool] | None:
        asked.append((bucket, upload_id))
        return ("aws:kms", KEY_ARN, bucket_key)

    params = {"Bucket": "b", "Key": "big.bin", "UploadId": "up-1", "PartNumber": 1}
    if operation == "UploadPartCopy":
        params["CopySource"] = "src/plain.bin"
    found = permissions_of(Operation("s3", operation, params), _facts(upload_encryption=upload_encryption))
    decrypt = [p for p in found if p.action == "kms:Decrypt"]
    assert asked == [("b", "up-1")]
    assert [p.resource for p in decrypt] == [KEY_ARN]
    assert decrypt[0].context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    arn = "arn:aws:s3:::b" if bucket_key else "arn:aws:s3:::b/big.bin"
    assert decrypt[0].context["kms:EncryptionContext:aws:s3:arn"] == arn


@pytest.mark.parametrize(
    "steering",
    [
        {"SSEKMSKeyId": "arn:aws:kms:us-east-1:111122223333:key/mine"},  # another key named by the caller
        {"ServerSideEncryption": "AES256"},  # or another encryption claimed
        {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "a2V5", "SSECustomerKeyMD5": "bWQ1"},
    ],
)
def test_a_parts_own_parameters_do_not_choose_the_key_decided(steering: dict[str, Any]) -> None:
    """The key is the one kept from the upload's creation, whatever a part's request says."""
    params = {"Bucket": "b", "Key": "big.bin", "UploadId": "up-1", "PartNumber": 1, **steering}
    facts = _facts(upload_encryption=lambda bucket, upload_id: ("aws:kms", KEY_ARN, False))
    found = permissions_of(Operation("s3", "UploadPart", params), facts)
    assert [p.resource for p in found if p.action == "kms:Decrypt"] == [KEY_ARN]


@pytest.mark.parametrize("stored", [None, ("AES256", None, False)])
def test_a_part_of_an_upload_not_known_to_be_sse_kms_needs_no_key(
    stored: tuple[str, str | None, bool] | None,
) -> None:
    params = {"Bucket": "b", "Key": "big.bin", "UploadId": "up-1", "PartNumber": 1}
    facts = _facts(upload_encryption=lambda bucket, upload_id: stored)
    found = permissions_of(Operation("s3", "UploadPart", params), facts)
    assert [p.action for p in found] == ["s3:PutObject"]


@pytest.mark.parametrize(
    ("extra", "decrypts"),
    [
        ({}, False),
        ({"MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": '"e"'}]}}, False),
        (
            {"MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": '"e"', "ChecksumCRC32": "AAAAAA=="}]}},
            True,
        ),
        ({"ChecksumSHA256": "x"}, True),
    ],
)
def test_completing_an_sse_kms_upload_needs_decrypt_only_with_checksums(
    extra: dict[str, Any], decrypts: bool
) -> None:
    params = {"Bucket": "b", "Key": "big.bin", "UploadId": "up-1", **extra}
    facts = _facts(upload_encryption=lambda bucket, upload_id: ("aws:kms", KEY_ARN, False))
    found = permissions_of(Operation("s3", "CompleteMultipartUpload", params), facts)
    assert any(p.action == "kms:Decrypt" for p in found) is decrypts


def test_an_sse_kms_upload_is_kept_in_the_store_until_it_ends(db: Database, tmp_path: Path) -> None:
    multipart.after_success(db, _create(), KMS_ANSWER, CREATED, _facts(), NOW)
    reopened = Database(f"sqlite:///{tmp_path / 'ostiary.db'}")  # another node, or a restarted server
    with reopened.read() as conn:
        assert uploads.find(conn, "b", "up-1") == ("aws:kms", KEY_ARN, False)
    reopened.dispose()
    error = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
    complete = Operation(
        "s3", "CompleteMultipartUpload", {"Bucket": "b", "Key": "big.bin", "UploadId": "up-1"}
    )
    multipart.after_success(db, complete, {}, error, _facts(), NOW)  # S3's 200 with an error: not ended
    with db.read() as conn:
        assert uploads.find(conn, "b", "up-1") is not None
    done = b"<CompleteMultipartUploadResult><Bucket>b</Bucket></CompleteMultipartUploadResult>"
    multipart.after_success(db, complete, {}, done, _facts(), NOW)
    with db.read() as conn:
        assert uploads.find(conn, "b", "up-1") is None


def test_an_aborted_upload_is_forgotten_and_an_unencrypted_one_never_kept(db: Database) -> None:
    multipart.after_success(db, _create(), KMS_ANSWER, CREATED, _facts(), NOW)
    abort = Operation("s3", "AbortMultipartUpload", {"Bucket": "b", "Key": "big.bin", "UploadId": "up-1"})
    multipart.after_success(db, abort, {}, None, _facts(), NOW)
    multipart.after_success(db, _create(), {"x-amz-server-side-encryption": "AES256"}, CREATED, _facts(), NOW)
    with db.read() as conn:
        assert uploads.find(conn, "b", "up-1") is None
