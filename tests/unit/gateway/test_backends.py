"""`--backend SERVICE=URL` and OSTIARY_BACKENDS: parsed strictly, `*` for every other service, never IAM/STS;
and which requests the gateway takes, from their credential scope."""

from __future__ import annotations

import json

import pytest

from ostiary.errors import AccessDenied, SignatureDoesNotMatch
from ostiary.gateway import refusals
from ostiary.gateway.backends import Backends, from_environment, parse_backends
from ostiary.gateway.endpoint import scope_service


def test_backends_are_parsed_by_service_with_a_default_for_every_other() -> None:
    urls = parse_backends(
        ["dynamodb=http://127.0.0.1:5000/", " kms = http://kms:9000", "*=https://all.example"]
    )
    assert urls == {"dynamodb": "http://127.0.0.1:5000", "kms": "http://kms:9000", "*": "https://all.example"}
    backends = Backends(urls)
    assert backends.url_for("dynamodb") == "http://127.0.0.1:5000"
    assert backends.url_for("sqs") == "https://all.example"
    assert backends.url_for("iam") is None and backends.url_for("sts") is None


@pytest.mark.parametrize(
    "spec",
    [
        "dynamodb",
        "=http://x",
        "dynamodb=ftp://x",
        "dynamodb=http://",
        "Bad_Name=http://x",
        "iam=http://x",
        "s3=http://x?a=1",
    ],
)
def test_a_malformed_backend_is_refused_in_our_words(spec: str) -> None:
    with pytest.raises(ValueError, match="`"):
        parse_backends([spec])


def test_the_environment_names_backends_and_their_credentials() -> None:
    backends = from_environment({"OSTIARY_BACKENDS": "dynamodb=http://a,kms=http://b"})
    assert backends.urls == {"dynamodb": "http://a", "kms": "http://b"}
    assert (backends.access_key_id, backends.secret_access_key) == ("test", "test")
    other = from_environment(
        {"OSTIARY_BACKEND_ACCESS_KEY_ID": "AK", "OSTIARY_BACKEND_SECRET_ACCESS_KEY": "SK"}
    )
    assert (other.urls, other.access_key_id, other.secret_access_key) == ({}, "AK", "SK")
    assert "SK" not in repr(other)


@pytest.mark.parametrize(
    ("headers", "query", "service"),
    [
        (
            [
                (
                    b"authorization",
                    b"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/dynamodb/aws4_request, S=x",
                )
            ],
            b"",
            "dynamodb",
        ),
        (
            [(b"authorization", b"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/iam/aws4_request")],
            b"",
            "iam",
        ),
        ([], b"X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x", "s3"),
        (  # SigV4a's scope names no region
            [(b"authorization", b"AWS4-ECDSA-P256-SHA256 Credential=AKIA/20260101/s3/aws4_request, S=x")],
            b"",
            "s3",
        ),
        (
            [(b"authorization", b"AWS4-ECDSA-P256-SHA256 Credential=AKIA/20260101/kms/aws4_request")],
            b"",
            "kms",
        ),
        ([(b"authorization", b"Bearer token")], b"", None),
        ([], b"Action=ListUsers", None),
    ],
)
def test_the_scope_names_the_service_a_request_is_for(
    headers: list[tuple[bytes, bytes]], query: bytes, service: str | None
) -> None:
    assert scope_service({"headers": headers, "query_string": query}) == service


def test_refusals_take_each_json_versions_shape() -> None:
    status, body, content_type = refusals.json_refusal(AccessDenied("User: x is not authorized"), "1.0")
    assert (status, content_type) == (400, "application/x-amz-json-1.0")
    assert json.loads(body) == {
        "__type": "com.amazon.coral.service#AccessDeniedException",
        "message": "User: x is not authorized",
    }
    status, body, content_type = refusals.json_refusal(SignatureDoesNotMatch("bad"), "1.1")
    assert (status, json.loads(body)["__type"], content_type) == (
        400,
        "InvalidSignatureException",
        "application/x-amz-json-1.1",
    )


def test_a_key_schema_is_read_partition_key_first() -> None:
    from ostiary.gateway.lookups import key_names

    schema = [{"AttributeName": "Song", "KeyType": "RANGE"}, {"AttributeName": "Artist", "KeyType": "HASH"}]
    assert key_names(schema) == ("Artist", "Song")
    assert key_names([{"AttributeName": "Id", "KeyType": "HASH"}]) == ("Id",)
    assert key_names([{"AttributeName": "Song", "KeyType": "RANGE"}]) is None
    assert key_names("not a schema") is None
