"""Services acting for the caller: what a DynamoDB export to S3 and an S3 SSE-KMS write or read need,
and AWS's refusals in S3's shape. Pure: requests as botocore builds them, mapped to permissions."""

from __future__ import annotations

import base64
import json
from typing import Any
from xml.etree import ElementTree

import pytest

from ostiary.errors import AccessDenied, ExpiredToken, InvalidClientTokenId, SignatureDoesNotMatch
from ostiary.gateway import refusals, s3
from ostiary.gateway.operations import Operation, identify
from ostiary.gateway.permissions import Facts, Permission, permissions_of
from ostiary.policy import Principal, Request, authorize, compile_policy, parse_policy
from tests.unit.gateway.botocore_requests import built_request

ACCOUNT = "123456789012"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
FACTS = Facts(
    account=ACCOUNT,
    region="us-east-1",
    caller_account=ACCOUNT,
    resolve_alias=lambda account, alias: KEY_ARN if alias == "alias/export" else None,
)
FAS = {
    "aws:ViaAWSService": "true",
    "aws:CalledVia": ["dynamodb.amazonaws.com"],
    "aws:CalledViaFirst": "dynamodb.amazonaws.com",
    "aws:CalledViaLast": "dynamodb.amazonaws.com",
}


def _wire(service: str, operation: str, params: dict[str, Any]) -> list[Permission]:
    found = identify(service, built_request(service, operation, params))
    assert isinstance(found, Operation), found
    return list(permissions_of(found, FACTS))


def _export(**extra: Any) -> list[Permission]:
    params = {"TableArn": TABLE, "S3Bucket": "my-export-bucket", "S3Prefix": "nightly", **extra}
    return _wire("dynamodb", "ExportTableToPointInTime", params)


def test_an_export_needs_the_export_on_the_table_and_s3s_writes_on_the_prefix_via_dynamodb() -> None:
    found = _export()
    objects = "arn:aws:s3:::my-export-bucket/nightly/AWSDynamoDB/*"
    assert [(p.action, p.resource) for p in found] == [
        ("dynamodb:ExportTableToPointInTime", TABLE),
        ("s3:AbortMultipartUpload", objects),
        ("s3:PutObject", objects),
        ("s3:PutObjectAcl", objects),
    ]
    assert found[0].context == {}
    for permission in found[1:]:
        assert permission.context == {**FAS, "aws:ResourceAccount": ACCOUNT, "s3:ResourceAccount": ACCOUNT}
        assert permission.resource_account is None  # the caller's own account: no bucket policy needed


def test_an_export_without_a_prefix_writes_under_awsdynamodb_at_the_bucket_root() -> None:
    found = _wire("dynamodb", "ExportTableToPointInTime", {"TableArn": TABLE, "S3Bucket": "b"})
    assert found[2].resource == "arn:aws:s3:::b/AWSDynamoDB/*"


@pytest.mark.parametrize(
    "spelling", [KEY, KEY_ARN, "alias/export", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/export"]
)
def test_an_sse_kms_export_needs_generate_data_key_via_s3_on_the_key_however_it_is_named(
    spelling: str,
) -> None:
    found = _export(S3SseAlgorithm="KMS", S3SseKmsKeyId=spelling)
    put = next(p for p in found if p.action == "s3:PutObject")
    assert put.context["s3:x-amz-server-side-encryption"] == "aws:kms"
    assert put.context["s3:x-amz-server-side-encryption-aws-kms-key-id"] == spelling
    key = found[-1]
    assert (key.action, key.resource) == ("kms:GenerateDataKey", KEY_ARN)
    assert key.context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert key.context["kms:CallerAccount"] == ACCOUNT
    assert key.context["kms:EncryptionContext:aws:s3:arn"] == (
        "arn:aws:s3:::my-export-bucket/nightly/AWSDynamoDB/*"
    )
    assert {k: key.context[k] for k in FAS} == FAS
    assert ("kms:RequestAlias" in key.context) == ("alias/" in spelling)


def test_an_export_to_an_unknown_alias_is_asked_on_the_alias_not_on_some_key() -> None:
    found = _export(S3SseAlgorithm="KMS", S3SseKmsKeyId="alias/nowhere")
    assert found[-1].resource == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/nowhere"


def test_an_sse_s3_export_asks_no_kms_permission() -> None:
    found = _export(S3SseAlgorithm="AES256")
    assert not [p for p in found if p.action.startswith("kms:")]
    assert found[2].context["s3:x-amz-server-side-encryption"] == "AES256"


def test_an_export_to_another_accounts_bucket_names_that_account_as_the_objects_owner() -> None:
    found = _export(S3BucketOwner="444455556666")
    for permission in found[1:]:
        assert permission.resource_account == "444455556666"
        assert permission.context["aws:ResourceAccount"] == "444455556666"
    assert found[2].context["s3:ResourceAccount"] == "444455556666"


def test_via_keys_come_from_the_service_never_from_the_request() -> None:
    """A caller cannot claim to be a service: a direct KMS call carries neither via key."""
    found = _wire("kms", "GenerateDataKey", {"KeyId": KEY, "KeySpec": "AES_256"})
    assert "kms:ViaService" not in found[0].context
    assert "aws:ViaAWSService" not in found[0].context
    context = base64.b64encode(json.dumps({"aws:s3:arn": "arn:aws:s3:::other/x"}).encode()).decode()
    put = _wire(
        "s3",
        "PutObject",
        {"Bucket": "b", "Key": "k", "ServerSideEncryption": "aws:kms", "SSEKMSEncryptionContext": context},
    )
    assert put[-1].context["kms:EncryptionContext:aws:s3:arn"] == "arn:aws:s3:::b/k"


# -- S3 SSE-KMS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "extra", "actions"),
    [
        ("PutObject", {"Body": b"x"}, ["kms:GenerateDataKey"]),
        ("CopyObject", {"CopySource": "src/a.txt"}, ["kms:GenerateDataKey"]),
        ("CreateMultipartUpload", {}, ["kms:GenerateDataKey"]),  # its kms:Decrypt is UploadPart's
    ],
)
def test_an_sse_kms_write_needs_the_key_via_s3(
    operation: str, extra: dict[str, Any], actions: list[str]
) -> None:
    params = {"Bucket": "b", "Key": "k", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/export"}
    found = _wire("s3", operation, {**params, **extra})
    asked = [p for p in found if p.action.startswith("kms:")]
    assert [p.action for p in asked] == actions
    for permission in asked:
        assert permission.resource == KEY_ARN
        assert permission.context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
        assert permission.context["aws:ViaAWSService"] == "true"
        assert "aws:CalledVia" not in permission.context  # S3 is not among the services that set it


def test_an_sse_kms_write_without_a_key_uses_s3s_managed_key_and_sse_s3_needs_none() -> None:
    found = _wire("s3", "PutObject", {"Bucket": "b", "Key": "k", "ServerSideEncryption": "aws:kms"})
    assert found[-1].resource == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/s3"
    plain = _wire("s3", "PutObject", {"Bucket": "b", "Key": "k", "ServerSideEncryption": "AES256"})
    assert [p.action for p in plain] == ["s3:PutObject"]


def test_a_bucket_key_puts_the_buckets_arn_in_the_encryption_context() -> None:
    params = {"Bucket": "b", "Key": "k", "ServerSideEncryption": "aws:kms", "BucketKeyEnabled": True}
    assert (
        _wire("s3", "PutObject", params)[-1].context["kms:EncryptionContext:aws:s3:arn"] == "arn:aws:s3:::b"
    )


def test_reading_an_sse_kms_object_needs_decrypt_on_the_key_the_answer_names() -> None:
    operation = Operation("s3", "GetObject", {"Bucket": "b", "Key": "k"})
    headers = {
        "X-Amz-Server-Side-Encryption": "aws:kms",
        "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": KEY_ARN,
    }
    found = s3.answer_permissions(operation, 200, headers, FACTS)
    assert [(p.action, p.resource) for p in found] == [("kms:Decrypt", KEY_ARN)]
    assert found[0].context["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert found[0].context["kms:EncryptionContext:aws:s3:arn"] == "arn:aws:s3:::b/k"


def test_answers_that_decrypt_nothing_need_nothing_more() -> None:
    get = Operation("s3", "GetObject", {"Bucket": "b", "Key": "k"})
    kms_headers = {
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": KEY,
    }
    assert s3.answer_permissions(get, 200, {"x-amz-server-side-encryption": "AES256"}, FACTS) == []
    assert s3.answer_permissions(get, 404, kms_headers, FACTS) == []
    put = Operation("s3", "PutObject", {"Bucket": "b", "Key": "k"})
    assert s3.answer_permissions(put, 200, kms_headers, FACTS) == []


# -- refusals in S3's shape ---------------------------------------------------------------------------


def _xml(status_body: tuple[int, bytes, str]) -> tuple[int, str, str]:
    status, body, content_type = status_body
    assert content_type == "application/xml"
    root = ElementTree.fromstring(body)
    return status, str(root.findtext("Code")), str(root.findtext("Message"))


def test_s3s_access_denied_quotes_the_resource_arn() -> None:
    message = (
        "User: arn:aws:iam::123456789012:user/Michael is not authorized to perform: s3:PutObject on "
        "resource: arn:aws:s3:::my-export-bucket/a.json because no identity-based policy allows the "
        "s3:PutObject action"
    )
    assert _xml(refusals.xml_refusal(AccessDenied(message), "req-1")) == (
        403,
        "AccessDenied",
        message.replace("arn:aws:s3:::my-export-bucket/a.json", '"arn:aws:s3:::my-export-bucket/a.json"'),
    )


@pytest.mark.parametrize(
    ("error", "has_token", "expected"),
    [
        (
            SignatureDoesNotMatch("x"),
            False,
            (
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            ),
        ),
        (
            InvalidClientTokenId("The security token included in the request is invalid."),
            False,
            (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
        ),
        (
            InvalidClientTokenId("The security token included in the request is invalid."),
            True,
            (400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
        ),
        (
            ExpiredToken("The security token included in the request is expired"),
            True,
            (400, "ExpiredToken", "The provided token has expired."),
        ),
    ],
)
def test_s3s_authentication_errors_are_s3s_own(
    error: Any, has_token: bool, expected: tuple[int, str, str]
) -> None:
    assert _xml(refusals.xml_refusal(error, "req-2", has_session_token=has_token)) == expected


def test_a_kms_refusal_met_by_s3_keeps_kmss_unquoted_text() -> None:
    message = (
        f"User: arn:aws:iam::{ACCOUNT}:user/Michael is not authorized to perform: kms:GenerateDataKey on "
        f"resource: {KEY_ARN} because no identity-based policy allows the kms:GenerateDataKey action"
    )
    assert refusals.s3_message(message) == message
    assert _xml(refusals.xml_refusal(AccessDenied(message), "req-3"))[2] == message


# -- the engine's refusal texts for the kinds of policy no server path exercises yet (SCPs) -----------


def _compiled(kind: str, name: str, *statements: dict[str, Any]) -> Any:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return compile_policy(parse_policy(text, kind), name, kind)


@pytest.mark.parametrize(
    ("scp_effect", "reason"),
    [
        ("Allow", "because no service control policy allows the dynamodb:ExportTableToPointInTime action"),
        ("Deny", "with an explicit deny in a service control policy"),
    ],
)
def test_scp_refusals_are_worded_as_aws_words_them(scp_effect: str, reason: str) -> None:
    action = "dynamodb:ExportTableToPointInTime"
    identity = _compiled("identity", "export", {"Effect": "Allow", "Action": action, "Resource": "*"})
    scp_action = "dynamodb:GetItem" if scp_effect == "Allow" else action
    scp = _compiled("scp", "guardrail", {"Effect": scp_effect, "Action": scp_action, "Resource": "*"})
    arn = f"arn:aws:iam::{ACCOUNT}:user/Michael"
    decision = authorize(
        Request(Principal(arn, "user", ACCOUNT), action, TABLE, {}), identity=[identity], scps=[scp]
    )
    assert decision.message(arn, action, TABLE) == (
        f"User: {arn} is not authorized to perform: {action} on resource: {TABLE} {reason}"
    )
