"""xml.serialize_* against botocore's QueryParser as the oracle: what we write, boto3 reads back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.parsers import QueryParser

from ostiary.errors import InternalFailure, NoSuchEntityException, ValidationError
from ostiary.protocol import models, xml


def _model(service: str) -> Any:
    """The served model (botocore's ServiceModel), whatever botocore is installed."""
    return models.service(service).model


def _read_back(service: str, operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    op = _model(service).operation_model(operation)
    parsed = QueryParser().parse({"body": body, "headers": {}, "status_code": status}, op.output_shape)
    return parsed  # type: ignore[no-any-return]  # botocore is untyped


def _operations_with_output() -> list[tuple[str, str]]:
    found = []
    for service in ("iam", "sts"):
        model = _model(service)
        found += [(service, op) for op in model.operation_names if model.operation_model(op).output_shape]
    return found


@pytest.mark.parametrize(("service", "operation"), _operations_with_output())
def test_every_output_shape_reads_back_through_botocore(
    service: str, operation: str, sample: Callable[..., Any]
) -> None:
    shape = _model(service).operation_model(operation).output_shape
    result = sample(shape)
    parsed = _read_back(service, operation, xml.serialize_result(service, operation, result, "req-1"))
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == "req-1"
    assert parsed == result


def test_response_envelope_is_aws_shape() -> None:
    body = xml.serialize_result(
        "iam",
        "GetUser",
        {
            "User": {
                "Path": "/",
                "UserName": "a",
                "UserId": "AIDAEXAMPLE",
                "Arn": "arn:aws:iam::123456789012:user/a",
                "CreateDate": datetime(2026, 11, 30, 2, 16, 43, 123456),
            }
        },
        "rid",
    )
    root = ET.fromstring(body)
    ns = "{https://iam.amazonaws.com/doc/2010-05-08/}"
    assert root.tag == f"{ns}GetUserResponse"
    assert [child.tag for child in root] == [f"{ns}GetUserResult", f"{ns}ResponseMetadata"]
    assert b"<CreateDate>2026-11-30T02:16:43Z</CreateDate>" in body


def test_sts_uses_its_own_namespace() -> None:
    body = xml.serialize_result("sts", "GetCallerIdentity", {"Account": "123456789012"}, "rid")
    assert body.startswith(b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')


def test_operation_without_output_has_only_metadata() -> None:
    body = xml.serialize_result("iam", "DeleteUser", {}, "rid")
    assert body == (
        b'<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata>'
        b"<RequestId>rid</RequestId></ResponseMetadata></DeleteUserResponse>"
    )


def test_booleans_lower_case_and_aware_times_in_utc() -> None:
    east = timezone(timedelta(hours=2))
    body = xml.serialize_result(
        "iam",
        "GetLoginProfile",
        {
            "LoginProfile": {
                "UserName": "a",
                "CreateDate": datetime(2026, 11, 30, 4, 16, 43, tzinfo=east),
                "PasswordResetRequired": False,
            }
        },
        "rid",
    )
    assert b"<PasswordResetRequired>false</PasswordResetRequired>" in body
    assert b"<CreateDate>2026-11-30T02:16:43Z</CreateDate>" in body


def test_hostile_text_is_escaped_and_round_trips() -> None:
    name = "</UserName><Injected>&amp;\"'"
    body = xml.serialize_result(
        "iam",
        "GetUser",
        {
            "User": {
                "Path": "/",
                "UserName": name,
                "UserId": "x",
                "Arn": "y",
                "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
            }
        },
        "rid",
    )
    assert _read_back("iam", "GetUser", body)["User"]["UserName"] == name


def test_map_is_written_as_entries() -> None:
    body = xml.serialize_result("iam", "GetAccountSummary", {"SummaryMap": {"Users": 3, "Groups": 1}}, "rid")
    assert b"<SummaryMap><entry><key>Users</key><value>3</value></entry>" in body
    assert _read_back("iam", "GetAccountSummary", body)["SummaryMap"] == {"Users": 3, "Groups": 1}


@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        (NoSuchEntityException("The user with name a cannot be found."), "Sender", 404),
        (ValidationError("1 validation error detected: <&>"), "Sender", 400),
        (InternalFailure("An internal error occurred."), "Receiver", 500),
    ],
)
def test_error_response_reads_back_as_aws_error(error: Any, kind: str, status: int) -> None:
    body = xml.serialize_error("iam", error, "rid-9")
    parsed = _read_back("iam", "GetUser", body, status=error.status)
    assert error.status == status
    assert parsed["Error"] == {"Type": kind, "Code": error.code, "Message": error.message}
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
    assert body.startswith(b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>')
