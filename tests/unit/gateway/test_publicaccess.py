"""Block Public Access's pieces: the settings document both ways, what a public ACL is, S3's refusal
of a public policy, and whether a stored policy is public."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ostiary.gateway import publicaccess
from ostiary.gateway.operations import Operation
from ostiary.gateway.permissions import Facts, permissions_of
from ostiary.gateway.publicaccess import PublicAccessBlock

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def test_the_settings_document_reads_back_what_it_says() -> None:
    for settings in (publicaccess.ALL_ON, publicaccess.NONE, PublicAccessBlock(False, True, False, True)):
        assert publicaccess.parse(publicaccess.document(settings)) == settings


def test_a_document_s3_sends_is_read_and_anything_else_is_none() -> None:
    sent = (
        b'<?xml version="1.0" encoding="UTF-8"?><PublicAccessBlockConfiguration '
        b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>true</BlockPublicAcls>'
        b"<RestrictPublicBuckets>TRUE</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
    )
    assert publicaccess.parse(sent) == PublicAccessBlock(True, False, False, True)
    assert publicaccess.parse(b"<Error><Code>NoSuchPublicAccessBlockConfiguration</Code></Error>") is None
    assert publicaccess.parse(b"not xml") is None


@pytest.mark.parametrize(
    ("name", "params", "public"),
    [
        ("PutObject", {"ACL": "public-read"}, True),
        ("PutObject", {"ACL": "public-read-write"}, True),
        ("CopyObject", {"ACL": "authenticated-read"}, True),
        ("CreateMultipartUpload", {"GrantRead": f'uri="{ALL_USERS}"'}, True),
        (
            "PutObjectAcl",
            {"GrantFullControl": 'uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"'},
            True,
        ),
        (
            "PutBucketAcl",
            {"AccessControlPolicy": {"Grants": [{"Grantee": {"Type": "Group", "URI": ALL_USERS}}]}},
            True,
        ),
        ("PutObject", {"ACL": "private"}, False),
        ("PutObject", {"ACL": "bucket-owner-full-control"}, False),
        (
            "PutObjectAcl",
            {"GrantRead": 'id="79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"'},
            False,
        ),
        (
            "PutBucketAcl",
            {"AccessControlPolicy": {"Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "x"}}]}},
            False,
        ),
        ("GetObject", {"ACL": "public-read"}, False),  # not a write
    ],
)
def test_a_public_acl_is_a_public_canned_acl_or_a_grant_to_everyone(
    name: str, params: dict[str, Any], public: bool
) -> None:
    operation = Operation("s3", name, {"Bucket": "b", "Key": "k", **params})
    assert publicaccess.writes_public_acl(operation) is public


@pytest.mark.parametrize(
    "params",
    [
        {"ACL": "PUBLIC-READ"},
        {"ACL": " Public-Read-Write "},
        {"ACL": "Authenticated-Read"},
        {"GrantRead": 'uri="HTTP://ACS.AMAZONAWS.COM/groups/global/AllUsers"'},
        {"GrantFullControl": "uri=https://acs.amazonaws.com/groups/global/authenticatedusers"},
        {
            "AccessControlPolicy": {
                "Grants": [{"Grantee": {"URI": " https://ACS.amazonaws.com/groups/global/AllUsers "}}]
            }
        },
    ],
)
def test_a_public_acl_in_another_spelling_is_public_still(params: dict[str, Any]) -> None:
    """What a lenient backend could take for AllUsers or a public canned ACL is refused as they are."""
    for name in ("PutObject", "PutObjectAcl", "PutBucketAcl", "CreateMultipartUpload", "CopyObject"):
        operation = Operation("s3", name, {"Bucket": "b", "Key": "k", **params})
        assert publicaccess.writes_public_acl(operation)


def test_s3s_refusal_of_a_public_policy_names_the_setting() -> None:
    refusal = publicaccess.refuse_public_policy("arn:aws:iam::123456789012:user/Alice", "site")
    assert refusal.code == "AccessDenied"
    assert refusal.message == (
        "User: arn:aws:iam::123456789012:user/Alice is not authorized to perform: s3:PutBucketPolicy on "
        'resource: "arn:aws:s3:::site" because public policies are blocked by the BlockPublicPolicy block '
        "public access setting."
    )


def test_a_stored_policy_is_public_as_the_engine_says() -> None:
    def text(principal: Any) -> str:
        statement = {
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    assert publicaccess.is_public_text(text("*"))
    assert not publicaccess.is_public_text(text({"AWS": "111122223333"}))
    assert not publicaccess.is_public_text("{not a policy")


def test_a_buckets_settings_combine_with_its_accounts_most_restrictively() -> None:
    bucket = PublicAccessBlock(block_public_acls=True)
    assert publicaccess.combined(bucket, None) == bucket
    both = publicaccess.combined(bucket, (False, False, True, False))
    assert both == PublicAccessBlock(block_public_acls=True, block_public_policy=True)


def test_an_account_call_is_s3_controls_path_with_its_account_header() -> None:
    assert publicaccess.is_account_call(publicaccess.ACCOUNT_PATH, "123456789012")
    assert not publicaccess.is_account_call(publicaccess.ACCOUNT_PATH, None)  # a bucket named v20180820
    assert not publicaccess.is_account_call("/bucket/key", "123456789012")


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("PutPublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
        ("GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
        ("DeletePublicAccessBlock", "s3:PutAccountPublicAccessBlock"),
    ],
)
def test_the_account_settings_calls_need_the_account_actions_on_nothing_named(name: str, action: str) -> None:
    operation = Operation("s3control", name, {"AccountId": "123456789012"})
    found = permissions_of(operation, Facts(account="123456789012", region="us-east-1"))
    assert [(p.action, p.resource) for p in found] == [(action, "*")]
