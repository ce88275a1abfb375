"""Every S3, DynamoDB and KMS operation of botocore's models, as botocore sends it, is identified with its
members; hostile requests are an UnknownOperation, never an exception."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from ostiary.gateway.operations import Operation, UnknownOperation, identify
from ostiary.protocol import HttpRequest
from tests.unit.gateway.botocore_requests import REWRITTEN, built_request, sample_input

_MODELS = {name: botocore.session.get_session().get_service_model(name) for name in ("s3", "dynamodb", "kms")}
# Requests that are the same on the wire as another operation's: the gateway names the general one.
_WIRE_TWINS = {
    "ListDirectoryBuckets": "ListBuckets",
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
}


def _cases(service: str) -> list[str]:
    return list(_MODELS[service].operation_names)


def _located(service: str, operation: str, given: dict[str, Any]) -> dict[str, Any]:
    """The given members that travel outside an S3 body (and are sent as given)."""
    shape = _MODELS[service].operation_model(operation).input_shape
    out = {}
    for name, value in given.items():
        member = shape.members[name]
        if member.serialization.get("location") and name not in REWRITTEN and member.type_name != "timestamp":
            out[name] = value
    return out


@pytest.mark.parametrize("addressing", ["path", "virtual"])
@pytest.mark.parametrize("operation", _cases("s3"))
def test_every_s3_operation_is_identified_with_its_members(operation: str, addressing: str) -> None:
    given = sample_input(_MODELS["s3"].operation_model(operation), with_located=True)
    request = built_request("s3", operation, given, addressing)
    found = identify("s3", request)
    assert isinstance(found, Operation), found
    assert found.name == _WIRE_TWINS.get(operation, operation)
    twin = _MODELS["s3"].operation_model(found.name).input_shape
    expected = {k: v for k, v in _located("s3", operation, given).items() if twin and k in twin.members}
    assert {k: found.params.get(k) for k in expected} == expected


@pytest.mark.parametrize(("service", "operation"), [(s, o) for s in ("dynamodb", "kms") for o in _cases(s)])
def test_every_json_operation_is_identified_with_its_members(service: str, operation: str) -> None:
    given = sample_input(_MODELS[service].operation_model(operation))
    found = identify(service, built_request(service, operation, given))
    assert isinstance(found, Operation), found
    assert found.name == operation
    for name, value in given.items():
        if isinstance(value, str | int | bool) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            assert found.params[name] == value, name


def test_s3_payload_members_are_read_from_the_xml_body() -> None:
    delete = {"Objects": [{"Key": "a.txt"}, {"Key": "b.txt", "VersionId": "v1"}], "Quiet": True}
    found = identify("s3", built_request("s3", "DeleteObjects", {"Bucket": "bkt", "Delete": delete}))
    assert found == Operation("s3", "DeleteObjects", {**found.params, "Bucket": "bkt", "Delete": delete})


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("ListObjectsV2", {"Bucket": "b", "Prefix": "p/", "Delimiter": "/", "MaxKeys": 7}, "ListObjectsV2"),
        ("ListObjects", {"Bucket": "b"}, "ListObjects"),
        ("HeadObject", {"Bucket": "b", "Key": "k"}, "HeadObject"),
        ("CreateMultipartUpload", {"Bucket": "b", "Key": "k"}, "CreateMultipartUpload"),
        (
            "UploadPart",
            {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 2, "Body": b"x"},
            "UploadPart",
        ),
        (
            "UploadPartCopy",
            {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 2, "CopySource": "s/k"},
            "UploadPartCopy",
        ),
        ("CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "s/k"}, "CopyObject"),
        ("PutObject", {"Bucket": "b", "Key": "k", "Body": b"x"}, "PutObject"),
        ("AbortMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}, "AbortMultipartUpload"),
        ("DeleteObject", {"Bucket": "b", "Key": "k"}, "DeleteObject"),
        ("ListParts", {"Bucket": "b", "Key": "k", "UploadId": "u"}, "ListParts"),
        ("GetObject", {"Bucket": "b", "Key": "k"}, "GetObject"),
        ("GetObjectAcl", {"Bucket": "b", "Key": "k"}, "GetObjectAcl"),
        ("GetBucketPolicy", {"Bucket": "b"}, "GetBucketPolicy"),
        ("GetBucketTagging", {"Bucket": "b"}, "GetBucketTagging"),
        ("PutObjectTagging", {"Bucket": "b", "Key": "k", "Tagging": {"TagSet": []}}, "PutObjectTagging"),
    ],
)
def test_the_most_specific_s3_route_wins(operation: str, params: dict[str, Any], expected: str) -> None:
    found = identify("s3", built_request("s3", operation, params))
    assert isinstance(found, Operation) and found.name == expected
    located = {k: v for k, v in params.items() if k not in ("Body", "Tagging")}
    assert {k: found.params[k] for k in located} == located


def test_a_key_keeps_its_slashes_and_escapes() -> None:
    found = identify("s3", built_request("s3", "GetObject", {"Bucket": "b", "Key": "a//b/%2F c?.txt"}))
    assert isinstance(found, Operation) and found.params["Key"] == "a//b/%2F c?.txt"


def test_virtual_hosts_of_aws_and_of_the_gateway_name_the_bucket() -> None:
    for host in ("photos.s3.amazonaws.com", "photos.s3.eu-west-1.amazonaws.com", "photos.localhost:9000"):
        request = HttpRequest("GET", "/2026/a.jpg", "", (("host", host),), b"")
        assert identify("s3", request) == Operation(
            "s3", "GetObject", {"Bucket": "photos", "Key": "2026/a.jpg"}
        )
    gateway = HttpRequest("GET", "/a.jpg", "", (("host", "photos.gw.example:8080"),), b"")
    assert identify("s3", gateway, virtual_hosts=("gw.example",)).params["Bucket"] == "photos"  # type: ignore[union-attr]


def test_an_ip_host_is_never_a_virtual_host() -> None:
    request = HttpRequest("GET", "/photos", "", (("host", "10.0.0.1:9000"),), b"")
    assert identify("s3", request) == Operation("s3", "ListObjects", {"Bucket": "photos"})


def _request(
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> HttpRequest:
    return HttpRequest(method, path, query, (("host", "127.0.0.1:9000"), *headers), body)


@pytest.mark.parametrize(
    ("service", "request_"),
    [
        ("s3", _request(path="no-slash")),
        ("s3", _request(method="BREW")),
        ("s3", _request(path="/b/%ff%fe")),
        ("s3", _request(path="/b", query="&".join(f"a{i}=1" for i in range(5000)))),
        ("s3", _request(method="POST", path="/b/k")),
        ("s3", _request(method="PATCH", path="/b/k", headers=(("x-amz-copy-source", "x" * 100_000),))),
        ("s3", _request(path="/" + "b" * 300 + "/k")),
        ("s3", _request(path="/b%2Fc/k")),
        ("s3", _request(path="/b/" + "k" * 1025)),
        ("dynamodb", _request(method="POST")),
        ("dynamodb", _request(method="POST", headers=(("x-amz-target", "DynamoDB_20120810.Nope"),))),
        ("dynamodb", _request(method="POST", headers=(("x-amz-target", "TrentService.Encrypt"),))),
        ("dynamodb", _request(method="POST", headers=(("x-amz-target", "D" * 1_000_000),))),
        (
            "dynamodb",
            _request(method="POST", headers=(("x-amz-target", "DynamoDB_20120810.GetItem"),), body=b"[1, 2]"),
        ),
        (
            "dynamodb",
            _request(
                method="POST", headers=(("x-amz-target", "DynamoDB_20120810.GetItem"),), body=b"{" * 100_000
            ),
        ),
        (
            "dynamodb",
            _request(
                method="POST", headers=(("x-amz-target", "DynamoDB_20120810.GetItem"),), body=b"\xff\xfe"
            ),
        ),
        ("kms", _request(method="POST", headers=(("x-amz-target", "TrentService."),))),
        ("no-such-service", _request()),
        ("../../etc/passwd", _request()),
        ("", _request()),
    ],
)
def test_hostile_requests_are_unknown_operations(service: str, request_: HttpRequest) -> None:
    found = identify(service, request_)
    assert isinstance(found, UnknownOperation)
    assert found.reason and len(found.reason) < 200


def test_a_malformed_xml_payload_leaves_the_operation_identified_without_it() -> None:
    request = _request(method="POST", path="/b", query="delete", body=b"<Delete><Object><Key>a</Key>")
    assert identify("s3", request) == Operation("s3", "DeleteObjects", {"Bucket": "b"})


def test_an_entity_bomb_in_the_payload_is_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10) for i in range(8)
        )
        + b"]><Delete><Object><Key>&i;</Key></Object></Delete>"
    )
    found = identify("s3", _request(method="POST", path="/b", query="delete", body=bomb))
    assert isinstance(found, Operation) and found.name == "DeleteObjects"
    assert "Delete" not in found.params or len(str(found.params["Delete"])) < 10_000


def _uncached_route(request: HttpRequest) -> str | None:
    """The route every candidate's own matching picks, nothing remembered."""
    from ostiary.gateway import operations, s3_routes

    model = operations.service_model("s3")
    target = s3_routes.target(request, s3_routes.DEFAULT_VIRTUAL_HOSTS)
    assert not isinstance(target, str)
    shape = (request.method, target.bucket is not None, target.key is not None)
    routes = s3_routes._routes_by_shape(model).get(shape, ())
    matches = [r for r in routes if s3_routes._matches(r, request, target)]
    return max(matches, key=lambda r: r.rank).operation if matches else None


def _s3_corpus() -> list[HttpRequest]:
    requests = []
    for operation in _cases("s3"):
        model = _MODELS["s3"].operation_model(operation)
        for addressing in ("path", "virtual"):
            for with_located in (False, True):
                given = sample_input(model, with_located=with_located)
                requests.append(built_request("s3", operation, given, addressing))
    return requests


def test_a_remembered_route_is_the_route_matching_would_pick() -> None:
    # Every operation's request, minimal and with every located member, twice over in two orders: the
    # second time most are answered from what the first remembered, and each must still be its own.
    from ostiary.gateway import s3_routes

    corpus = _s3_corpus()
    s3_routes._matched.clear()
    for requests in (corpus, corpus[::-1], corpus):
        for request in requests:
            found = identify("s3", request)
            expected = _uncached_route(request)
            assert (found.name if isinstance(found, Operation) else None) == expected, request


def test_s3_members_come_in_the_models_order() -> None:
    # (the trail records them in this order)
    for request in _s3_corpus():
        found = identify("s3", request)
        assert isinstance(found, Operation)
        shape = _MODELS["s3"].operation_model(found.name).input_shape
        order = list(shape.members)
        payload = shape.serialization.get("payload")  # read from the body, after the rest
        places = [order.index(name) for name in found.params if name != payload]
        assert places == sorted(places), (found.name, list(found.params))
