"""DeleteObjects decided object by object (`multidelete`): which objects are refused, the document the
backend gets (its digest made anew), and the answer with the refused objects merged in."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from ostiary.errors import AccessDenied
from ostiary.gateway import bucketpolicies, multidelete
from ostiary.gateway.operations import Operation, identify
from ostiary.gateway.permissions import Facts, Permission
from tests.unit.gateway.botocore_requests import built_request

FACTS = Facts(account="123456789012", region="us-east-1")
DENIED = b"<Code>AccessDenied</Code><Message>Access Denied</Message></Error>"


def _operation(objects: list[dict[str, Any]], **extra: Any) -> Operation:
    """A DeleteObjects as botocore sends it, identified from the wire."""
    delete = {"Objects": objects, **extra.pop("delete", {})}
    found = identify("s3", built_request("s3", "DeleteObjects", {"Bucket": "b", "Delete": delete, **extra}))
    assert isinstance(found, Operation), found
    return found


def _refusing(*resources: str) -> tuple[list[Permission], Any]:
    """A `decide` that refuses the permissions on `resources`, and what it was asked."""
    asked: list[Permission] = []

    def decide(permission: Permission) -> None:
        asked.append(permission)
        if permission.resource in resources:
            raise AccessDenied("User: ... is not authorized")

    return asked, decide


def test_each_object_is_decided_alone_and_the_refused_positions_come_back() -> None:
    operation = _operation([{"Key": "public/a"}, {"Key": "keep/b"}, {"Key": "old", "VersionId": "v1"}])
    asked, decide = _refusing("arn:aws:s3:::b/keep/b", "arn:aws:s3:::b/old")
    assert multidelete.refused(operation, FACTS, decide) == (1, 2)
    assert [(p.action, p.resource, p.context) for p in asked] == [
        ("s3:DeleteObject", "arn:aws:s3:::b/public/a", {}),
        ("s3:DeleteObject", "arn:aws:s3:::b/keep/b", {}),
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/old", {"s3:versionid": "v1"}),
    ]


def test_a_key_listed_twice_is_decided_once_and_refused_twice() -> None:
    operation = _operation([{"Key": "keep/b"}, {"Key": "a"}, {"Key": "keep/b"}])
    asked, decide = _refusing("arn:aws:s3:::b/keep/b")
    assert multidelete.refused(operation, FACTS, decide) == (0, 2)
    assert len(asked) == 2


def test_a_governance_bypass_is_asked_on_each_object_with_its_delete() -> None:
    operation = _operation([{"Key": "a"}, {"Key": "b"}], BypassGovernanceRetention=True)
    asked, decide = _refusing()
    assert multidelete.refused(operation, FACTS, decide) == ()
    assert [(p.action, p.resource) for p in asked] == [
        ("s3:DeleteObject", "arn:aws:s3:::b/a"),
        ("s3:BypassGovernanceRetention", "arn:aws:s3:::b/a"),
        ("s3:DeleteObject", "arn:aws:s3:::b/b"),
        ("s3:BypassGovernanceRetention", "arn:aws:s3:::b/b"),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"Bucket": "b"},  # no document read (not XML)
        {"Bucket": "b", "Delete": {"Objects": []}},
        {"Bucket": "b", "Delete": {"Objects": [{"VersionId": "v"}]}},
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}], "Quiet": "maybe"}},
        {"Bucket": "b", "Delete": {"Objects": [{"Key": str(i)} for i in range(1001)]}},
    ],
)
def test_a_document_s3_cannot_read_is_malformed_xml_and_nothing_is_decided(params: dict[str, Any]) -> None:
    operation = Operation("s3", "DeleteObjects", params)
    asked, decide = _refusing()
    assert multidelete.refused(operation, FACTS, decide) == () and asked == []
    with pytest.raises(multidelete.MalformedXML):
        multidelete.refuse_unreadable(operation)


def test_the_backend_gets_the_allowed_objects_alone_with_a_digest_of_what_it_gets() -> None:
    operation = _operation([{"Key": "a&b"}, {"Key": "keep/b"}, {"Key": "c", "VersionId": "v1"}])
    headers = [("content-md5", "stale"), ("x-amz-checksum-crc32c", "stale"), ("content-type", "text/xml")]
    body, sent = multidelete.forwarded(operation, (1,), headers)
    assert b"<Key>a&amp;b</Key>" in body and b"<Key>c</Key><VersionId>v1</VersionId>" in body
    assert b"keep/b" not in body
    digest = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - S3's Content-MD5
    assert sent == [("content-md5", digest), ("content-type", "text/xml")]
    _, added = multidelete.forwarded(operation, (1,), [("x-amz-checksum-sha256", "stale")])
    assert added == [("content-md5", digest)]  # a checksum it cannot make anew: Content-MD5 instead


def test_the_refused_objects_join_the_backends_answer() -> None:
    operation = _operation([{"Key": "a"}, {"Key": "<b>", "VersionId": "v1"}])
    answer = b'<?xml version="1.0"?>\n<DeleteResult xmlns="x"><Deleted><Key>a</Key></Deleted></DeleteResult>'
    merged = multidelete.merged(operation, (1,), answer)
    assert merged == (
        b'<?xml version="1.0"?>\n<DeleteResult xmlns="x"><Deleted><Key>a</Key></Deleted>'
        b"<Error><Key>&lt;b&gt;</Key><VersionId>v1</VersionId>" + DENIED + b"</DeleteResult>"
    )


def test_quiet_mode_answers_the_errors_alone() -> None:
    operation = _operation([{"Key": "a"}, {"Key": "b"}], delete={"Quiet": True})
    answer = (
        b'<DeleteResult xmlns="x"><Deleted><Key>a</Key></Deleted><Error><Key>z</Key></Error></DeleteResult>'
    )
    merged = multidelete.merged(operation, (1,), answer)
    assert merged == b'<DeleteResult xmlns="x"><Error><Key>z</Key></Error><Error><Key>b</Key>' + DENIED + (
        b"</DeleteResult>"
    )
    assert multidelete.merged(operation, (1,), b'<DeleteResult xmlns="x"/>') == (
        b'<DeleteResult xmlns="x"><Error><Key>b</Key>' + DENIED + b"</DeleteResult>"
    )


def test_every_object_refused_is_answered_here_and_a_missing_bucket_is_no_such_bucket() -> None:
    operation = _operation([{"Key": "a"}, {"Key": "b"}])
    assert multidelete.answer_refused(operation, (1,), lambda bucket: True) is None
    answer = multidelete.answer_refused(operation, (0, 1), lambda bucket: None)
    assert answer is not None and answer.status == 200
    assert answer.body.count(DENIED) == 2 and b"<Deleted>" not in answer.body
    with pytest.raises(bucketpolicies.NoSuchBucket):
        multidelete.answer_refused(operation, (0, 1), lambda bucket: False)
