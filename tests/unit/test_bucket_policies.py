"""S3 bucket policies as PutBucketPolicy validates them: S3's MalformedPolicy texts, one row each, and the
canonical text that is stored; the compiled policy the engine decides with; ListBuckets cut to the
caller's own buckets."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest

from ostiary.gateway import bucketpolicies, ownership
from ostiary.gateway.bucketpolicies import MalformedPolicy, validate
from ostiary.gateway.operations import Operation
from ostiary.policy import Principal, Request, authorize

BUCKET = "amzn-bucket"


def _policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document = {"Version": version, **document}
    return json.dumps(document)


def _allow(**overrides: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    statement.update(overrides)
    return {k: v for k, v in statement.items() if v is not None}


REFUSED = [
    pytest.param("x" * (20 * 1024 + 1), bucketpolicies.TOO_LARGE, id="larger-than-20-KB"),
    pytest.param("not json", bucketpolicies.NOT_JSON, id="not-json"),
    pytest.param('["a"]', bucketpolicies.NOT_JSON, id="json-but-not-an-object"),
    pytest.param('{"Version": "2012-10-17"}', bucketpolicies.NO_STATEMENT, id="no-statement"),
    pytest.param(_policy(), bucketpolicies.EMPTY_STATEMENT, id="empty-statement-list"),
    pytest.param(_policy(_allow(), version="2013-01-01"), bucketpolicies.BAD_VERSION, id="unknown-version"),
    pytest.param(_policy(_allow(Principal=None)), bucketpolicies.NO_PRINCIPAL, id="no-principal"),
    pytest.param(
        _policy(_allow(Principal={"AWS": "not-an-account"})), bucketpolicies.BAD_PRINCIPAL, id="bad-principal"
    ),
    pytest.param(_policy(_allow(Resource="*")), bucketpolicies.BAD_RESOURCE, id="resource-star"),
    pytest.param(
        _policy(_allow(Resource="arn:aws:s3:::other-bucket/*")),
        bucketpolicies.BAD_RESOURCE,
        id="another-buckets-objects",
    ),
    pytest.param(
        _policy(_allow(Resource=[f"arn:aws:s3:::{BUCKET}/*", "arn:aws:s3:::other-bucket"])),
        bucketpolicies.BAD_RESOURCE,
        id="this-bucket-and-another",
    ),
    pytest.param(_policy(_allow(Resource="arn:aws:s3:::*")), bucketpolicies.BAD_RESOURCE, id="every-bucket"),
    pytest.param(
        _policy(_allow(Resource=f"arn:aws:s3:::{BUCKET.upper()}/*")),
        bucketpolicies.BAD_RESOURCE,
        id="this-bucket-in-another-case",
    ),
    pytest.param(
        _policy(_allow(Resource=f"arn:aws:s3:::{BUCKET}-evil/*")),
        bucketpolicies.BAD_RESOURCE,
        id="a-name-this-bucket-prefixes",
    ),
    pytest.param(
        _policy(_allow(Resource=f"arn:aws:dynamodb:us-east-1:123456789012:table/{BUCKET}")),
        bucketpolicies.BAD_RESOURCE,
        id="not-an-s3-arn",
    ),
    pytest.param(
        _policy(_allow(Action="dynamodb:GetItem")), bucketpolicies.BAD_ACTION, id="not-an-s3-action"
    ),
    pytest.param(
        _policy(_allow(Action="s3:NoSuchAction")), bucketpolicies.BAD_ACTION, id="unknown-s3-action"
    ),
    pytest.param(
        _policy(_allow(Action="s3:PutObject", Resource=f"arn:aws:s3:::{BUCKET}")),
        bucketpolicies.NOT_APPLICABLE,
        id="object-action-on-the-bucket",
    ),
    pytest.param(
        _policy(_allow(Action="s3:ListBucket", Resource=f"arn:aws:s3:::{BUCKET}/*")),
        bucketpolicies.NOT_APPLICABLE,
        id="bucket-action-on-objects",
    ),
    pytest.param(
        _policy(_allow(Action="s3:ListAllMyBuckets", Resource=f"arn:aws:s3:::{BUCKET}")),
        bucketpolicies.NOT_APPLICABLE,
        id="an-action-on-no-resource",
    ),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_s3_refuses_a_malformed_bucket_policy_with_its_own_text(text: str, message: str) -> None:
    with pytest.raises(MalformedPolicy) as refused:
        validate(text, BUCKET)
    assert (refused.value.code, refused.value.status, refused.value.message) == (
        "MalformedPolicy",
        400,
        message,
    )


ACCEPTED = [
    pytest.param(_policy(_allow()), id="public-read"),
    pytest.param(
        _policy(_allow(Action="s3:*", Resource=[f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"])),
        id="all-s3",
    ),
    pytest.param(_policy(_allow(Action="*")), id="every-action"),
    pytest.param(_policy(_allow(Action="s3:Get*")), id="an-action-pattern"),
    pytest.param(
        _policy(
            _allow(
                Principal={"AWS": "arn:aws:iam::111122223333:root"},
                Action="s3:ListBucket",
                Resource=f"arn:aws:s3:::{BUCKET}",
            )
        ),
        id="cross-account-list",
    ),
    pytest.param(
        _policy(
            _allow(
                Effect="Deny",
                Principal={"AWS": "*"},
                Action=["s3:PutObject", "s3:ListBucket"],
                Resource=[f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            )
        ),
        id="deny-two-kinds",
    ),
    pytest.param(
        _policy(_allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), version=None),
        id="no-version",
    ),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_a_valid_bucket_policy_is_stored_as_compact_json_of_the_same_document(text: str) -> None:
    stored = validate(text, BUCKET)
    assert json.loads(stored) == json.loads(text)
    assert stored == json.dumps(json.loads(text), separators=(",", ":"))


def test_the_stored_policy_allows_an_anonymous_reader_only_what_it_says() -> None:
    policy = bucketpolicies.compiled(validate(_policy(_allow()), BUCKET))
    anonymous = Principal(arn="*", type="anonymous")
    read = Request(anonymous, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/a.txt", {})
    write = Request(anonymous, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/a.txt", {})
    other = Request(anonymous, "s3:GetObject", "arn:aws:s3:::other-bucket/a.txt", {})
    assert authorize(read, resource=policy, resource_account="123456789012").decision == "Allow"
    assert authorize(write, resource=policy, resource_account="123456789012").decision == "ImplicitDeny"
    assert authorize(other, resource=policy, resource_account="123456789012").decision == "ImplicitDeny"


def test_an_action_pattern_names_s3_actions_case_insensitively() -> None:
    assert "s3:GetObject" in bucketpolicies.s3_actions_matching("S3:get*")
    assert bucketpolicies.s3_actions_matching("s3:Nope*") == ()
    assert bucketpolicies.s3_actions_matching("kms:*") == ()


def test_a_user_or_role_a_principal_names_must_exist_and_an_account_is_not_looked_up() -> None:
    user = "arn:aws:iam::111122223333:user/team/alice"
    ghost = "arn:aws:iam::111122223333:role/ghost"
    root = "arn:aws:iam::111122223333:root"

    def exists(arn: str) -> bool:
        return arn == user  # the root, were it asked, would be refused

    assert validate(_policy(_allow(Principal={"AWS": [user, root, "111122223333"]})), BUCKET, exists)
    with pytest.raises(MalformedPolicy) as refused:
        validate(_policy(_allow(Principal={"AWS": [user, ghost]})), BUCKET, exists)
    assert refused.value.message == bucketpolicies.BAD_PRINCIPAL


# -- ListBuckets cut to the caller's own buckets ----------------------------------------------------

_LIST_BUCKETS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>x</ID></Owner>'
    b"<Buckets><Bucket><Name>mine</Name><CreationDate>2026-12-04T00:00:00.000Z</CreationDate></Bucket>"
    b"<Bucket><Name>theirs</Name><CreationDate>2026-12-04T00:00:00.000Z</CreationDate></Bucket>"
    b"<Bucket><Name>a&amp;b</Name><CreationDate>2026-12-04T00:00:00.000Z</CreationDate></Bucket>"
    b"</Buckets></ListAllMyBucketsResult>"
)


def _own(*names: str) -> ownership.Visible:
    return lambda service, region, listed: {n for n in listed if n in names}


def test_list_buckets_keeps_only_the_callers_buckets_and_the_rest_of_the_document() -> None:
    operation = Operation("s3", "ListBuckets", {})
    cut = ownership.visible_answer(operation, "us-east-1", _LIST_BUCKETS, _own("mine", "a&b"))
    assert cut is not None
    assert b"<Name>mine</Name>" in cut and b"<Name>a&amp;b</Name>" in cut
    assert b"theirs" not in cut
    assert cut.startswith(b'<?xml version="1.0" encoding="UTF-8"?>') and b"<Owner><ID>x</ID></Owner>" in cut
    assert (
        ownership.visible_answer(operation, "us-east-1", _LIST_BUCKETS, _own("mine", "theirs", "a&b")) is None
    )


def test_a_gzipped_list_is_cut_too_and_its_headers_follow_the_plain_body() -> None:
    operation = Operation("s3", "ListBuckets", {})
    cut = ownership.visible_answer(operation, "us-east-1", gzip.compress(_LIST_BUCKETS), _own("mine"))
    assert cut is not None and b"theirs" not in cut and b"<Name>mine</Name>" in cut
    headers = (("content-encoding", "gzip"), ("content-length", "1"), ("x-amz-crc32", "1"), ("etag", "e"))
    assert ownership.headers_for(headers, cut) == (
        ("content-length", str(len(cut))),
        ("x-amz-crc32", str(zlib.crc32(cut))),
        ("etag", "e"),
    )
